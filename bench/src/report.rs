//! `BENCHMARKS.md`: the table, the machine, the command, the date, how each figure is measured,
//! and the hand-written notes below the marker, kept from the previous file.

use std::fmt::Write;
use std::time::Duration;

use crate::load::{group, LoadResult};
use crate::tokens::VerifyTime;
use crate::weight::{Outcome, PageWeight};
use crate::{Compared, Options, Results, SignInCost};

/// Everything below this line in `BENCHMARKS.md` is written by hand and kept by every run.
pub const NOTES_MARKER: &str = "<!-- Hand-written notes below: `make bench` keeps everything after this line. -->";

const DEFAULT_NOTES: &str = "
## What limits the figures

Not analysed yet.
";

/// Targets.
const SESSION_CHECK_MIN_RATIO: f64 = 0.5;
const MINT_MIN_RATIO: f64 = 0.3;
/// Below this, µs per token.
const VERIFY_MAX_US: f64 = 50.0;
const LAYER_MIN_RATIO: f64 = 0.8;
const SIGN_INS_MIN_PER_SECOND: f64 = 2000.0;
const WEBHOOK_MIN_RATIO: f64 = 0.9;
/// Issue 10: PostgreSQL's sign-ins beside SQLite's, in the same run.
const POSTGRES_TO_SQLITE_MIN: f64 = 0.6;
const SIGN_IN_PAGE_MAX_GZ: usize = 100_000;
/// Issue 15: the dashboard, as its admin first sees it, and everything it loads.
const DASHBOARD_MAX_GZ: usize = 200_000;
const WIDGET_MAX_GZ: usize = 60_000;
const IDLE_RSS_MAX: u64 = 25 * 1_000_000;
const LOADED_RSS_MAX: u64 = 80 * 1_000_000;
const STARTUP_MAX: Duration = Duration::from_millis(150);

struct Row {
    figure: String,
    measured: String,
    baseline: String,
    ratio: String,
    target: String,
    met: String,
}

fn met(ok: bool) -> String {
    if ok {
        "yes".into()
    } else {
        "**no**".into()
    }
}

fn rps(result: &LoadResult) -> String {
    format!("{}/s", group(result.per_second().round() as u64))
}

fn ms(value: f64) -> String {
    if value.is_nan() {
        "–".into()
    } else if value < 10.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.1} ms")
    }
}

fn us(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1} µs")
    } else {
        "–".into()
    }
}

fn verify_cell(time: &VerifyTime) -> String {
    let (fastest, slowest) = time.batch_range_us;
    format!(
        "{} per token (mean of {}; batches of {}: {}–{})",
        us(time.mean_us()),
        group(time.calls.into()),
        group((time.calls / crate::tokens::VERIFY_BATCHES).into()),
        us(fastest),
        us(slowest)
    )
}

fn latency(result: &LoadResult) -> String {
    format!("p50 {} · p99 {}", ms(result.percentile_ms(0.5)), ms(result.percentile_ms(0.99)))
}

fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "–".into()
    }
}

/// Bytes as kB (1 kB = 1,000 bytes).
fn kb(bytes: usize) -> String {
    if bytes < 10_000 {
        format!("{:.1} kB", bytes as f64 / 1000.0)
    } else {
        format!("{} kB", group((bytes as f64 / 1000.0).round() as u64))
    }
}

/// Bytes as MB (1 MB = 1,000,000 bytes).
fn mb(bytes: Option<u64>) -> String {
    bytes.map(|b| format!("{:.1} MB", b as f64 / 1e6)).unwrap_or_else(|| "?".into())
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn duration_ms(d: Duration) -> String {
    ms(d.as_secs_f64() * 1000.0)
}

fn errors_note(result: &LoadResult) -> String {
    match &result.first_error {
        Some(e) if result.errors > 0 => format!("{} (first: {})", group(result.errors), e.replace('|', "/")),
        _ => group(result.errors),
    }
}

fn speed_rows(rows: &mut Vec<Row>, name: &str, compared: &Compared, target: Option<(String, bool)>) {
    let (target_text, ok) = target.map(|(t, ok)| (t, met(ok))).unwrap_or_else(|| ("report".into(), "–".into()));
    rows.push(Row {
        figure: format!("{name}: throughput"),
        measured: rps(&compared.measured),
        baseline: rps(&compared.baseline),
        ratio: ratio(compared.ratio()),
        target: target_text,
        met: ok,
    });
    rows.push(Row {
        figure: format!("{name}: latency"),
        measured: latency(&compared.measured),
        baseline: latency(&compared.baseline),
        ratio: ratio(compared.measured.percentile_ms(0.99) / compared.baseline.percentile_ms(0.99)),
        target: "report (ratio of p99s)".into(),
        met: "–".into(),
    });
}

/// CPU per sign-in: Latchkey's, and on PostgreSQL the database server's and its transactions.
fn cost_row(name: &str, cost: SignInCost) -> Row {
    let mut measured = format!("Latchkey {:.0} µs", cost.latchkey_us);
    if let Some(postgres) = cost.postgres_us {
        measured.push_str(&format!(" · PostgreSQL {postgres:.0} µs"));
    }
    if let Some(transactions) = cost.transactions {
        measured.push_str(&format!(" · {transactions:.1} transactions"));
    }
    measured.push_str(&format!(" (over {} sign-ins)", group(cost.sign_ins)));
    Row {
        figure: format!("{name}: CPU per sign-in (and PostgreSQL's transactions)"),
        measured,
        baseline: "–".into(),
        ratio: "–".into(),
        target: "report".into(),
        met: "–".into(),
    }
}

fn steps_row(name: &str, [start, consent, callback]: [f64; 3]) -> Row {
    Row {
        figure: format!("{name}: mean time of each request"),
        measured: format!("start {} · consent {} · callback {}", ms(start), ms(consent), ms(callback)),
        baseline: "–".into(),
        ratio: "–".into(),
        target: "report".into(),
        met: "–".into(),
    }
}

fn weight_cell(page: &PageWeight) -> String {
    match &page.outcome {
        Outcome::Measured { .. } => {
            let (raw, gz, br) = page.total();
            let debug = if page.has_debug_build() { " — **debug build of the WASM, not a release's**" } else { "" };
            format!("{} gz · {} br · {} raw{debug}", kb(gz), kb(br), kb(raw))
        }
        Outcome::NotBuilt => "not built yet (404)".into(),
        Outcome::Failed(e) => format!("failed: {}", e.replace('|', "/")),
    }
}

fn rows(results: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    let me_ok = results.me.ratio() >= SESSION_CHECK_MIN_RATIO && results.me.measured.errors == 0;
    speed_rows(
        &mut rows,
        "Session check `GET /v1/me`",
        &results.me,
        Some((format!("ratio ≥ {SESSION_CHECK_MIN_RATIO}"), me_ok)),
    );
    if results.me.measured.errors > 0 {
        rows.push(Row {
            figure: "Session check: errors".into(),
            measured: errors_note(&results.me.measured),
            baseline: group(results.me.baseline.errors),
            ratio: "–".into(),
            target: "0".into(),
            met: met(false),
        });
    }

    let mint = &results.mint;
    let mint_ok = mint.ratio() >= MINT_MIN_RATIO && mint.measured.errors == 0 && mint.measured.ok > 0;
    speed_rows(
        &mut rows,
        "Session token `POST /v1/me/token`",
        mint,
        Some((format!("ratio ≥ {MINT_MIN_RATIO}"), mint_ok)),
    );
    if mint.measured.errors > 0 {
        rows.push(Row {
            figure: "Session token `POST /v1/me/token`: errors".into(),
            measured: errors_note(&mint.measured),
            baseline: group(mint.baseline.errors),
            ratio: "–".into(),
            target: "0".into(),
            met: met(false),
        });
    }
    match &results.tokens {
        Err(e) => rows.push(Row {
            figure: "SDK: token verification, `LatchkeyLayer`".into(),
            measured: format!("not measured: {}", e.replace('|', "/")),
            baseline: "–".into(),
            ratio: "–".into(),
            target: format!("< {VERIFY_MAX_US} µs; ratio ≥ {LAYER_MIN_RATIO}"),
            met: met(false),
        }),
        Ok(tokens) => {
            rows.push(Row {
                figure: "SDK `verify_cached`: one token (signature + claims, warm JWKS)".into(),
                measured: verify_cell(&tokens.verify_cached),
                baseline: "–".into(),
                ratio: "–".into(),
                target: format!("< {VERIFY_MAX_US} µs"),
                met: met(tokens.verify_cached.mean_us() < VERIFY_MAX_US),
            });
            rows.push(Row {
                figure: "SDK `verify(…).await`: one token (warm JWKS)".into(),
                measured: verify_cell(&tokens.verify),
                baseline: "–".into(),
                ratio: "–".into(),
                target: "report".into(),
                met: "–".into(),
            });
            let layer = &tokens.layer;
            let layer_ok = layer.ratio() >= LAYER_MIN_RATIO
                && layer.measured.errors == 0
                && layer.baseline.errors == 0
                && layer.measured.ok > 0;
            speed_rows(
                &mut rows,
                "SDK: axum `GET /` behind `LatchkeyLayer`, Bearer token (baseline: the same route without it)",
                layer,
                Some((format!("ratio ≥ {LAYER_MIN_RATIO}"), layer_ok)),
            );
            if layer.measured.errors > 0 || layer.baseline.errors > 0 {
                rows.push(Row {
                    figure: "SDK: `LatchkeyLayer` route: errors".into(),
                    measured: errors_note(&layer.measured),
                    baseline: errors_note(&layer.baseline),
                    ratio: "–".into(),
                    target: "0".into(),
                    met: met(false),
                });
            }
        }
    }

    let sign_ins = &results.sign_ins;
    rows.push(Row {
        figure: "Sign-ins, SQLite: start → consent → callback".into(),
        measured: rps(&sign_ins.measured),
        baseline: rps(&sign_ins.baseline),
        ratio: ratio(sign_ins.ratio()),
        target: format!("≥ {}/s", group(SIGN_INS_MIN_PER_SECOND as u64)),
        met: met(sign_ins.measured.per_second() >= SIGN_INS_MIN_PER_SECOND),
    });
    rows.push(Row {
        figure: "Sign-ins, SQLite: one round trip (3 requests)".into(),
        measured: latency(&sign_ins.measured),
        baseline: latency(&sign_ins.baseline),
        ratio: "–".into(),
        target: "report".into(),
        met: "–".into(),
    });
    if let Some(steps) = sign_ins.steps {
        rows.push(steps_row("Sign-ins, SQLite", steps));
    }
    if let Some(cost) = sign_ins.cost {
        rows.push(cost_row("Sign-ins, SQLite", cost));
    }
    rows.push(Row {
        figure: "Sign-ins, SQLite: errors".into(),
        measured: errors_note(&sign_ins.measured),
        baseline: group(sign_ins.baseline.errors),
        ratio: "–".into(),
        target: "0".into(),
        met: met(sign_ins.measured.errors == 0 && sign_ins.measured.ok > 0),
    });
    match &results.sign_ins_webhook {
        Ok(webhook) => rows.push(Row {
            figure:
                "Sign-ins, SQLite: one webhook endpoint subscribed (baseline: none, same server, alternating rounds)"
                    .into(),
            measured: rps(&webhook.measured),
            baseline: rps(&webhook.baseline),
            ratio: ratio(webhook.ratio()),
            target: format!("ratio ≥ {WEBHOOK_MIN_RATIO}"),
            met: met(webhook.ratio() >= WEBHOOK_MIN_RATIO && webhook.measured.errors == 0),
        }),
        Err(e) => rows.push(Row {
            figure: "Sign-ins, SQLite: one webhook endpoint subscribed".into(),
            measured: format!("failed: {}", e.replace('|', "/")),
            baseline: "–".into(),
            ratio: "–".into(),
            target: format!("ratio ≥ {WEBHOOK_MIN_RATIO}"),
            met: met(false),
        }),
    }
    match &results.oidc {
        Ok((sign_ins, refreshes)) => {
            speed_rows(
                &mut rows,
                "OpenID Provider: complete app sign-ins (authorize → token → userinfo, an existing session)",
                sign_ins,
                None,
            );
            speed_rows(&mut rows, "OpenID Provider: refresh-token grants (rotating)", refreshes, None);
            rows.push(Row {
                figure: "OpenID Provider: errors (sign-ins, refreshes)".into(),
                measured: format!("{} · {}", errors_note(&sign_ins.measured), errors_note(&refreshes.measured)),
                baseline: "–".into(),
                ratio: "–".into(),
                target: "0".into(),
                met: met(sign_ins.measured.errors == 0
                    && refreshes.measured.errors == 0
                    && sign_ins.measured.ok > 0
                    && refreshes.measured.ok > 0),
            });
        }
        Err(e) => rows.push(Row {
            figure: "OpenID Provider".into(),
            measured: format!("failed: {}", e.replace('|', "/")),
            baseline: "–".into(),
            ratio: "–".into(),
            target: "report".into(),
            met: met(false),
        }),
    }
    match &results.sign_ins_postgres {
        None => rows.push(Row {
            figure: "Sign-ins, PostgreSQL".into(),
            measured: "not run: `LATCHKEY_BENCH_POSTGRES` unset".into(),
            baseline: "–".into(),
            ratio: "–".into(),
            target: "report".into(),
            met: "–".into(),
        }),
        Some(Err(e)) => rows.push(Row {
            figure: "Sign-ins, PostgreSQL".into(),
            measured: format!("failed: {}", e.replace('|', "/")),
            baseline: "–".into(),
            ratio: "–".into(),
            target: "report; errors 0".into(),
            met: met(false),
        }),
        Some(Ok(pg)) => {
            rows.push(Row {
                figure: "Sign-ins, PostgreSQL: start → consent → callback".into(),
                measured: rps(&pg.measured),
                baseline: rps(&pg.baseline),
                ratio: ratio(pg.ratio()),
                target: "report".into(),
                met: "–".into(),
            });
            rows.push(Row {
                figure: "Sign-ins, PostgreSQL: one round trip (3 requests)".into(),
                measured: latency(&pg.measured),
                baseline: latency(&pg.baseline),
                ratio: "–".into(),
                target: "report".into(),
                met: "–".into(),
            });
            rows.push(Row {
                figure: "Sign-ins, PostgreSQL ÷ SQLite (both measured above)".into(),
                measured: ratio(pg.measured.per_second() / results.sign_ins.measured.per_second()),
                baseline: "–".into(),
                ratio: "–".into(),
                target: format!("≥ {POSTGRES_TO_SQLITE_MIN}"),
                met: met(pg.measured.per_second() >= POSTGRES_TO_SQLITE_MIN * results.sign_ins.measured.per_second()),
            });
            if let Some(steps) = pg.steps {
                rows.push(steps_row("Sign-ins, PostgreSQL", steps));
            }
            if let Some(cost) = pg.cost {
                rows.push(cost_row("Sign-ins, PostgreSQL", cost));
            }
            rows.push(Row {
                figure: "Sign-ins, PostgreSQL: errors".into(),
                measured: errors_note(&pg.measured),
                baseline: group(pg.baseline.errors),
                ratio: "–".into(),
                target: "0".into(),
                met: met(pg.measured.errors == 0 && pg.measured.ok > 0),
            });
        }
    }

    speed_rows(&mut rows, "Portal page `GET /sign-in` (SSR)", &results.portal, None);
    if results.portal.measured.errors > 0 {
        rows.push(Row {
            figure: "Portal page: errors".into(),
            measured: errors_note(&results.portal.measured),
            baseline: "–".into(),
            ratio: "–".into(),
            target: "report".into(),
            met: "–".into(),
        });
    }

    for page in &results.pages {
        let (target, ok) = match page.page.as_str() {
            "/sign-in" => (
                format!("≤ {} kB gz in all", SIGN_IN_PAGE_MAX_GZ / 1000),
                met(matches!(page.outcome, Outcome::Measured { .. }) && page.total().1 <= SIGN_IN_PAGE_MAX_GZ),
            ),
            "/dashboard" => (
                format!("≤ {} kB gz in all", DASHBOARD_MAX_GZ / 1000),
                met(matches!(page.outcome, Outcome::Measured { .. }) && page.total().1 <= DASHBOARD_MAX_GZ),
            ),
            _ => ("report".into(), "–".into()),
        };
        let shown = match &page.outcome {
            Outcome::Measured { final_path } if *final_path != page.page => {
                format!("`{}` (→ `{final_path}`)", page.page)
            }
            _ => format!("`{}`", page.page),
        };
        rows.push(Row {
            figure: format!("Page weight {shown}, everything it loads"),
            measured: weight_cell(page),
            baseline: "–".into(),
            ratio: "–".into(),
            target,
            met: ok,
        });
    }
    let widget = &results.widget;
    rows.push(Row {
        figure: "Widget `GET /widget.js` and what it loads".into(),
        measured: weight_cell(widget),
        baseline: "–".into(),
        ratio: "–".into(),
        target: format!("≤ {} kB gz", WIDGET_MAX_GZ / 1000),
        met: match widget.outcome {
            Outcome::Measured { .. } => met(widget.total().1 <= WIDGET_MAX_GZ),
            Outcome::NotBuilt => "–".into(),
            Outcome::Failed(_) => met(false),
        },
    });

    let rss_ratio = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if b > 0 => ratio(a as f64 / b as f64),
        _ => "–".into(),
    };
    rows.push(Row {
        figure: "Peak RSS (VmHWM), idle: start + 1 s".into(),
        measured: mb(results.idle_rss),
        baseline: mb(results.baseline_idle_rss),
        ratio: rss_ratio(results.idle_rss, results.baseline_idle_rss),
        target: format!("≤ {} MB", IDLE_RSS_MAX / 1_000_000),
        met: met(results.idle_rss.is_some_and(|b| b <= IDLE_RSS_MAX)),
    });
    rows.push(Row {
        figure: "Peak RSS (VmHWM), after the loads above".into(),
        measured: mb(results.loaded_rss),
        baseline: mb(results.baseline_loaded_rss),
        ratio: rss_ratio(results.loaded_rss, results.baseline_loaded_rss),
        target: format!("≤ {} MB", LOADED_RSS_MAX / 1_000_000),
        met: met(results.loaded_rss.is_some_and(|b| b <= LOADED_RSS_MAX)),
    });
    let startup = median(&results.latchkey_startups);
    let baseline_startup = median(&results.baseline_startups);
    rows.push(Row {
        figure: format!("Start-up to `/readyz` 200, existing database (median of {})", results.latchkey_startups.len()),
        measured: duration_ms(startup),
        baseline: duration_ms(baseline_startup),
        ratio: ratio(startup.as_secs_f64() / baseline_startup.as_secs_f64()),
        target: format!("≤ {} ms", STARTUP_MAX.as_millis()),
        met: met(startup <= STARTUP_MAX),
    });
    rows
}

fn all_durations(values: &[Duration]) -> String {
    values.iter().map(|d| duration_ms(*d)).collect::<Vec<_>>().join(", ")
}

pub fn render(results: &Results, options: &Options, previous: &str) -> String {
    let machine = &results.machine;
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `make bench`; do not edit above the notes marker. Every speed is also given as a ratio to a \
         **baseline measured in the same run**: a minimal axum server (`GET /` → `hello`, multi-thread tokio) in \
         its own release process, loaded by the same generator with the same connections for the same time, in \
         short rounds alternating with the figure it is compared with. The machines here are small and shared, so \
         the ratios are the figures to compare between runs; the absolute numbers drift.\n"
    );
    let _ = writeln!(out, "- **Date**: {}", results.date);
    let _ = writeln!(
        out,
        "- **Machine**: {} cores (`nproc`), {}, {:.1} GB memory, Linux {}; 1-minute load average {} before the run, \
         {} after",
        machine.nproc,
        machine.cpu_model,
        machine.memory_bytes as f64 / 1e9,
        machine.kernel,
        results.load_before,
        results.load_after
    );
    let busy = results.load_before.parse::<f64>().is_ok_and(|l| l > machine.nproc as f64 * 0.5);
    if busy {
        let _ = writeln!(
            out,
            "- **Note**: other work was running when this run began (load average {} on {} cores): the absolute \
             figures are low and noisy; the ratios, measured side by side, less so",
            results.load_before, machine.nproc
        );
    }
    let _ = writeln!(
        out,
        "- **Build**: commit {}; {}; `scripts/build-release.sh` (what `make release` ships)",
        machine.commit, machine.rustc
    );
    let _ = writeln!(out, "- **Command**: {}", options.command);
    let shown = |path: &std::path::Path| {
        let relative = path.strip_prefix(&options.root).unwrap_or(path);
        format!("`{}`", relative.display())
    };
    let _ = writeln!(
        out,
        "- **Served**: {} with the site bundle {}",
        options.latchkey.as_deref().map(shown).unwrap_or_else(|| "`target/release/latchkey`".into()),
        options.site_root.as_deref().map(shown).unwrap_or_else(|| "`target/site`".into())
    );
    let _ = writeln!(
        out,
        "- **Load**: fixed requests: {}; sign-ins: {}; the measured time split into {} rounds alternating with \
         the baseline's; all on 127.0.0.1, load generator and servers sharing the cores\n",
        results.fixed_spec.describe(),
        results.sign_in_spec.describe(),
        options.rounds
    );

    let _ = writeln!(out, "| figure | measured | baseline | ratio | target | met? |");
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for row in rows(results) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.figure, row.measured, row.baseline, row.ratio, row.target, row.met
        );
    }
    let _ = writeln!(
        out,
        "\nRatio: measured ÷ baseline (for latency and memory, lower is better; for throughput, higher). \
         Start-ups, each: latchkey {}; baseline {}.\n",
        all_durations(&results.latchkey_startups),
        all_durations(&results.baseline_startups)
    );

    let _ = writeln!(out, "## Page weight, file by file\n");
    let _ = writeln!(
        out,
        "Each file compressed on its own with gzip level 9 and brotli quality 11 (window 2²²); 1 kB = 1,000 bytes. \
         \"Served\" is the `Content-Encoding` Latchkey itself answers to `Accept-Encoding: gzip, br`.\n"
    );
    let mut debug_seen = false;
    let _ = writeln!(out, "| page | file | loaded as | raw | gzip -9 | brotli -q 11 | served |");
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
    for page in results.pages.iter().chain(std::iter::once(&results.widget)) {
        match &page.outcome {
            Outcome::Measured { .. } => {
                for resource in &page.resources {
                    let _ = writeln!(
                        out,
                        "| `{}` | `{}` | {} | {} | {} | {} | {} |",
                        page.page,
                        resource.path,
                        resource.kind,
                        kb(resource.raw),
                        kb(resource.gzip),
                        kb(resource.brotli),
                        resource.served_encoding.as_deref().unwrap_or("uncompressed")
                    );
                    if resource.debug_build {
                        debug_seen = true;
                    }
                }
                let (raw, gz, br) = page.total();
                let _ = writeln!(
                    out,
                    "| `{}` | **all** | | **{}** | **{}** | **{}** | |",
                    page.page,
                    kb(raw),
                    kb(gz),
                    kb(br)
                );
            }
            _ => {
                let _ = writeln!(out, "| `{}` | {} | | | | | |", page.page, weight_cell(page));
            }
        }
    }

    if debug_seen {
        let _ = writeln!(
            out,
            "\n**A WASM file above carries debug sections**: `target/site` held a debug build when this ran \
             (another build, e.g. `cargo leptos build --frontend-only`, wrote it after `make bench` built the \
             release). Run `make bench` again when no other build is writing `target/`."
        );
    }
    let _ = writeln!(out, "\n## How each figure is measured\n");
    let _ = writeln!(
        out,
        "- `latchkey` is the release binary named above, started from the repository root (so it reads \
         `Leptos.toml`) with only `LEPTOS_SITE_ADDR=127.0.0.1:<free port>`, \
         `LATCHKEY_DATA_DIR=<temporary directory>`, `LATCHKEY_RATE_LIMIT=0`, `LATCHKEY_TOKEN_LIFETIME=3600` (so the \
         token the SDK figures use stays valid while they are measured), `RUST_LOG=warn` (and `DATABASE_URL` \
         for PostgreSQL, `LEPTOS_SITE_ROOT` for the bundle named above): a development instance with the Notion sandbox, SQLite in the data directory.\n\
         - The load generator (`bench/src/load.rs`) runs one tokio task per connection, each on its own HTTP/1.1 \
         keep-alive connection (hyper's client), sending the next request when the last answer is read whole. \
         A comparison warms up the baseline and Latchkey once each, then alternates them in short rounds (fresh \
         connections each round) so that other work on the machine weighs on both alike; throughput = recorded \
         successes ÷ the rounds' time (each round from its start to its last recorded answer); latency \
         percentiles from all rounds' sorted latencies.\n\
         - **Session check**: one sign-in through the sandbox, then `GET /v1/me` with its `latchkey_session` \
         cookie (200 expected).\n\
         - **Session token**: `POST /v1/me/token` (no body, no `Origin`) with the same session cookie: each \
         answer (200 expected) is a freshly signed EdDSA JWT; beside the baseline's `GET /`.\n\
         - **SDK verification**: one token minted as above, then `latchkey-sdk` (`bench` depends on `sdk/` by \
         path, built in release) with `Latchkey::builder(\"http://127.0.0.1:<port>\").build()` and \
         `prefetch_keys()` (the JWKS fetched once); after 1,000 untimed calls, 20,000 timed calls of \
         `verify_cached(&token)` (header, key lookup, Ed25519 signature, issuer and times) on one thread, in 10 \
         batches of 2,000: the mean, and the fastest and slowest batch's mean; every answer must be the claims. \
         `verify(&token).await` the same way (its keys cached, it never waits).\n\
         - **SDK layer**: two axum routers served by `latchkey-bench` itself on loopback (its multi-thread tokio \
         runtime, shared with the load generator): `GET /` → `hello`, and the same route behind \
         `LatchkeyLayer::new(<that verifier>)`, its handler taking `SignedIn` (a refused token would answer 401, \
         an error). Both loaded alike, with the minted token as `Authorization: Bearer`, in alternating rounds: \
         here the \"baseline\" column is the route without the layer, not the baseline server.\n\
         - **Sign-ins**: each operation is a fresh browser: `GET /v1/oauth/notion/start` (303 + `latchkey_flow`), \
         `POST /sandbox/notion/v1/oauth/authorize` with the authorize URL's `client_id`, `redirect_uri`, \
         `response_type`, `owner`, `state` and `person=ada`, `workspace=0`, `quirk=none`, `decision=allow` \
         (303 to the callback), `GET /v1/oauth_callback?code&state` with the flow cookie (303 + \
         `latchkey_session`). Anything else is an error. The same sample person each time: a returning user \
         (the user row is updated, a session inserted). On PostgreSQL, a fresh database `bench_<random>` on the \
         server `LATCHKEY_BENCH_POSTGRES` names, dropped afterwards. **CPU per sign-in**: the user and system \
         time of the `latchkey` process (and on PostgreSQL of every process named `postgres` on the machine) \
         from `/proc/<pid>/stat`, read before the warm-up and after the last round, over the sign-ins of those \
         rounds (the baseline's rounds in between add only idle time); the transactions are the database's \
         `xact_commit` in `pg_stat_database` (each statement outside a transaction is one), read once \
         Latchkey has stopped so every connection has reported its counts.\n\
         - **Webhook figure**: the same sign-ins on the same SQLite server with one endpoint registered for every \
         event type (the baseline server's `POST /webhooks`, answering 204), switched on for one round and off \
         for the next through the backend API: here the \"baseline\" column is the rounds with no endpoint. Each \
         sign-in writes `session.created` to the outbox while the endpoint is on; the worker delivers it, signed, \
         during those rounds.\n\
         - **OpenID Provider**: one app registered with `skip_consent` (a first-party app) and the session of \
         the first sign-in. Each sign-in is `GET /oauth/authorize` with the session cookie (303 to the app with a \
         code), `POST /oauth/token` (`authorization_code`, `client_secret_post`: an RS256 ID token, an access \
         token and a refresh token) and `GET /oauth/userinfo` with the access token; each refresh is one \
         `POST /oauth/token` (`refresh_token`), its answer's new refresh token kept for the next (one grant per \
         connection). For scale: Keycloak's sizing guide gives about 120 refresh-token requests per second per \
         vCPU.\n\
         - **Portal page**: `GET /sign-in` without cookies, rendered on the server each time.\n\
         - **Page weight**: the page (same-origin redirects followed; `/user` with the user's session cookie, \
         `/dashboard` signed in as its admin, on its first section), every same-origin `<link rel=stylesheet|modulepreload|preload href>` and `<script src>`, \
         quoted same-origin `.js`/`.wasm`/`.css` paths inside the scripts loaded, and the bundle's `.wasm` when \
         the hydration script builds its path. A route answering 404 is \"not built yet\".\n\
         - **Memory**: `VmHWM` from `/proc/<pid>/status`: the peak resident set since the process started, once 1 s \
         after start-up, once after the session-check, session-token, portal and sign-in loads (same process).\n\
         - **Start-up**: from spawning the process to the first 200 of `GET /readyz` (polled every millisecond), \
         on a database an earlier start created and migrated; the baseline: spawn to the first 200 of `GET /`.\n"
    );

    out.push_str(&notes_section(previous));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The marker and the hand-written notes after it in `previous` (or a stub), unchanged.
fn notes_section(previous: &str) -> String {
    let notes = previous.split_once(NOTES_MARKER).map(|(_, notes)| notes.trim_start_matches('\n'));
    format!("{NOTES_MARKER}\n\n{}", notes.unwrap_or(DEFAULT_NOTES.trim_start_matches('\n')))
}

/// A few lines for the terminal.
pub fn summary(results: &Results) -> String {
    rows(results)
        .into_iter()
        .map(|row| {
            format!(
                "  {:<58} {:<34} ratio {:<5} target {} {}",
                row.figure, row.measured, row.ratio, row.target, row.met
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_kept_as_they_are() {
        let previous = format!("# old table\n\n{NOTES_MARKER}\n\n## Notes\n\ntext\n");
        let once = notes_section(&previous);
        assert_eq!(once, format!("{NOTES_MARKER}\n\n## Notes\n\ntext\n"));
        assert_eq!(notes_section(&format!("# new table\n\n{once}")), once, "no blank lines pile up");
        assert!(notes_section("").contains("Not analysed yet."));
    }

    #[test]
    fn units() {
        assert_eq!(kb(1234), "1.2 kB");
        assert_eq!(kb(123_456), "123 kB");
        assert_eq!(kb(4_480_600), "4,481 kB");
        assert_eq!(mb(Some(12_345_678)), "12.3 MB");
        assert_eq!(mb(None), "?");
        assert_eq!(ms(1.234), "1.23 ms");
        assert_eq!(ms(12.34), "12.3 ms");
        assert_eq!(
            median(&[Duration::from_millis(3), Duration::from_millis(1), Duration::from_millis(2)]),
            Duration::from_millis(2)
        );
    }
}
