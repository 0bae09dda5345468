//! Page weight: everything a page makes the browser load from Latchkey, raw and compressed
//! (gzip level 9, brotli quality 11), each file compressed on its own as a server would send it.

use std::io::Write;
use std::path::Path;

use hyper::header::{HeaderName, COOKIE};

use crate::load::Client;

/// One file a page loads.
#[derive(Debug, Clone)]
pub struct Resource {
    pub path: String,
    /// Why it is loaded: `page`, `stylesheet`, `modulepreload`, `script`, `wasm`…
    pub kind: String,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
    /// Whether Latchkey itself answered compressed when asked `Accept-Encoding: gzip, br`.
    pub served_encoding: Option<String>,
    /// A WASM file with DWARF sections: a debug build, not what production serves.
    pub debug_build: bool,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// Measured; the page finally shown (after same-origin redirects).
    Measured {
        final_path: String,
    },
    /// The route answers 404: not built yet.
    NotBuilt,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct PageWeight {
    pub page: String,
    pub outcome: Outcome,
    pub resources: Vec<Resource>,
}

impl PageWeight {
    pub fn total(&self) -> (usize, usize, usize) {
        self.resources.iter().fold((0, 0, 0), |(r, g, b), x| (r + x.raw, g + x.gzip, b + x.brotli))
    }

    /// Whether a WASM file it loads is a debug build (then its weight is not a release's).
    pub fn has_debug_build(&self) -> bool {
        self.resources.iter().any(|r| r.debug_build)
    }
}

/// A WASM module with a `.debug_info` custom section, as a debug build leaves it.
pub fn has_debug_sections(wasm: &[u8]) -> bool {
    wasm.starts_with(b"\0asm") && wasm.windows(11).any(|w| w == b".debug_info")
}

pub fn gzip9(data: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    let _ = encoder.write_all(data);
    encoder.finish().map(|v| v.len()).unwrap_or(0)
}

pub fn brotli11(data: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        let _ = writer.write_all(data);
        let _ = writer.flush();
    }
    out.len()
}

/// The attributes of one start tag, e.g. ` rel="stylesheet" href="/x.css"`.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bytes = tag.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' && bytes[i] != b'/' {
            i += 1;
        }
        let name = tag[name_start..i].to_ascii_lowercase();
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let value_start = i + 1;
                i = value_start;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                value = tag[value_start..i.min(tag.len())].to_string();
                i += 1;
            } else {
                let value_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = tag[value_start..i].to_string();
            }
        }
        if !name.is_empty() {
            out.push((name, value));
        }
    }
    out
}

/// Every start tag `<name …>` in `html`, as its attribute text.
fn start_tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let needle = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find(&needle) {
        let begin = from + found + needle.len();
        from = begin;
        if !lower[begin..].starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/') {
            continue;
        }
        let end = lower[begin..].find('>').map(|e| begin + e).unwrap_or(html.len());
        out.push(&html[begin..end]);
        from = end;
    }
    out
}

/// Same-origin files an HTML page references: `<link rel=stylesheet|modulepreload|preload href>`
/// and `<script src>`, in order, each once.
pub fn html_references(html: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut add = |kind: &str, href: &str| {
        if let Some(path) = same_origin(href) {
            if !found.iter().any(|(p, _)| *p == path) {
                found.push((path, kind.to_string()));
            }
        }
    };
    for tag in start_tags(html, "link") {
        let attrs = attributes(tag);
        let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let rel = get("rel").unwrap_or("").to_ascii_lowercase();
        let kind = rel.split_whitespace().find(|r| ["stylesheet", "modulepreload", "preload"].contains(r));
        if let (Some(kind), Some(href)) = (kind, get("href")) {
            add(kind, href);
        }
    }
    for tag in start_tags(html, "script") {
        let attrs = attributes(tag);
        if let Some((_, src)) = attrs.iter().find(|(k, _)| k == "src") {
            add("script", src);
        }
    }
    found
}

/// Quoted same-origin paths to `.js`, `.wasm` or `.css` files in a script's text.
pub fn script_references(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Every piece between quotes, whatever the nesting: only one that looks exactly like an
    // asset path counts.
    for quote in ['"', '\'', '`'] {
        for piece in script.split(quote) {
            if piece.len() < 300 && !piece.contains(char::is_whitespace) {
                let bare = piece.split(['?', '#']).next().unwrap_or(piece);
                let asset = [".js", ".mjs", ".wasm", ".css"].iter().any(|ext| bare.ends_with(ext));
                if let Some(path) = same_origin(piece).filter(|_| asset) {
                    if !found.contains(&path) {
                        found.push(path);
                    }
                }
            }
        }
    }
    found
}

/// `/x` and `http://127.0.0.1…/x` are ours; `//cdn/x` and other hosts are not.
fn same_origin(href: &str) -> Option<String> {
    if href.starts_with('/') && !href.starts_with("//") {
        return Some(href.to_string());
    }
    let rest = href.strip_prefix("http://127.0.0.1")?;
    let slash = rest.find('/')?;
    rest[..slash].trim_start_matches(':').chars().all(|c| c.is_ascii_digit()).then(|| rest[slash..].to_string())
}

fn kind_of(path: &str, fallback: &str) -> String {
    let bare = path.split('?').next().unwrap_or(path);
    if bare.ends_with(".wasm") {
        "wasm".into()
    } else {
        fallback.into()
    }
}

async fn fetch(
    client: &mut Client,
    path: &str,
    cookie: &[(HeaderName, String)],
) -> Result<(Resource, bytes::Bytes), String> {
    let answer = client.get(path, cookie).await?;
    if answer.status != 200 {
        return Err(format!("GET {path} answered {}", answer.status));
    }
    let mut with_encoding = cookie.to_vec();
    with_encoding.push((hyper::header::ACCEPT_ENCODING, "gzip, br".into()));
    let served_encoding =
        client.get(path, &with_encoding).await.ok().and_then(|a| a.header("content-encoding").map(str::to_string));
    let resource = Resource {
        path: path.to_string(),
        kind: String::new(),
        raw: answer.body.len(),
        gzip: gzip9(&answer.body),
        brotli: brotli11(&answer.body),
        served_encoding,
        debug_build: path.split('?').next().unwrap_or("").ends_with(".wasm") && has_debug_sections(&answer.body),
    };
    Ok((resource, answer.body))
}

/// Loads `page` as a browser would (following same-origin redirects), with `cookie`
/// (`name=value`) if given, then every file it references; `site_pkg` is where the hydration
/// bundle lies, for a WASM file the page's inline script loads without a `<link>`.
pub async fn page(client: &mut Client, page: &str, cookie: Option<&str>, site_pkg: &Path) -> PageWeight {
    let cookie: Vec<(HeaderName, String)> = cookie.map(|c| vec![(COOKIE, c.to_string())]).unwrap_or_default();
    let mut weight = PageWeight { page: page.to_string(), outcome: Outcome::NotBuilt, resources: Vec::new() };
    let mut path = page.to_string();
    let mut hops = 0;
    let answer = loop {
        let answer = match client.get(&path, &cookie).await {
            Ok(answer) => answer,
            Err(e) => {
                weight.outcome = Outcome::Failed(e);
                return weight;
            }
        };
        match (answer.status, answer.header("location").and_then(same_origin)) {
            (301 | 302 | 303 | 307 | 308, Some(next)) if hops < 5 => {
                hops += 1;
                path = next;
            }
            _ => break answer,
        }
    };
    match answer.status {
        200 => {}
        404 => return weight,
        other => {
            weight.outcome = Outcome::Failed(format!("GET {path} answered {other}"));
            return weight;
        }
    }
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    let is_script = answer.header("content-type").is_some_and(|t| t.contains("javascript"));
    let mut references: Vec<(String, String)> = if is_script {
        script_references(&text).into_iter().map(|p| (p, "script".to_string())).collect()
    } else {
        html_references(&text)
    };
    // Leptos' hydration script builds the WASM path in a template string; when no `<link>`
    // names it, count the bundle's file.
    let hydrates = !is_script && (text.contains(".wasm") || text.contains("mod.hydrate"));
    if hydrates && !references.iter().any(|(p, _)| p.ends_with(".wasm")) {
        for name in ["latchkey_bg.wasm", "latchkey.wasm"] {
            if site_pkg.join(name).exists() {
                references.push((format!("/pkg/{name}"), "wasm".into()));
                break;
            }
        }
    }
    match fetch(client, &path, &cookie).await {
        Ok((mut resource, _)) => {
            resource.kind = if is_script { "script".into() } else { "page".into() };
            weight.resources.push(resource);
        }
        Err(e) => {
            weight.outcome = Outcome::Failed(e);
            return weight;
        }
    }
    // Scripts are read too: a module that loads another module or the WASM.
    let mut queue = references;
    let mut seen: Vec<String> = vec![path.clone()];
    while let Some((reference, kind)) = (!queue.is_empty()).then(|| queue.remove(0)) {
        if seen.contains(&reference) || seen.len() > 50 {
            continue;
        }
        seen.push(reference.clone());
        match fetch(client, &reference, &cookie).await {
            Ok((mut resource, body)) => {
                resource.kind = kind_of(&reference, &kind);
                if reference.split('?').next().unwrap_or("").ends_with(".js") {
                    for nested in script_references(&String::from_utf8_lossy(&body)) {
                        if !seen.contains(&nested) && !queue.iter().any(|(p, _)| *p == nested) {
                            let nested_kind = kind_of(&nested, "script");
                            queue.push((nested, nested_kind));
                        }
                    }
                }
                weight.resources.push(resource);
            }
            Err(e) => {
                weight.outcome = Outcome::Failed(e);
                return weight;
            }
        }
    }
    weight.outcome = Outcome::Measured { final_path: path };
    weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_a_leptos_page_loads() {
        let html = r#"<!DOCTYPE html><html><head><link rel="modulepreload" href="/pkg/latchkey.js" crossorigin="x"><link rel="preload" href="/pkg/latchkey.wasm" as="fetch"><script type="module" nonce="n">import(`${root}/${pkg_path}/${output_name}.js`)</script><link id="latchkey" rel="stylesheet" href="/pkg/latchkey.css"><link rel=icon href=/favicon.ico><script src='https://cdn.example/x.js'></script><script src=/w.js></script></head></html>"#;
        let found = html_references(html);
        assert_eq!(
            found,
            vec![
                ("/pkg/latchkey.js".to_string(), "modulepreload".to_string()),
                ("/pkg/latchkey.wasm".to_string(), "preload".to_string()),
                ("/pkg/latchkey.css".to_string(), "stylesheet".to_string()),
                ("/w.js".to_string(), "script".to_string()),
            ]
        );
    }

    #[test]
    fn finds_what_a_script_loads() {
        let js = r#"const a = "/pkg/widget_bg.wasm"; import('/widget/ui.js?v=2'); fetch("/v1/me"); const b = `http://127.0.0.1:3000/w.css`; const c = "https://cdn.example/x.js";"#;
        assert_eq!(script_references(js), vec!["/pkg/widget_bg.wasm", "/widget/ui.js?v=2", "/w.css"]);
    }

    #[test]
    fn debug_builds_are_recognised() {
        assert!(has_debug_sections(b"\0asm\x01\0\0\0\0\x0c\x0b.debug_info"));
        assert!(!has_debug_sections(b"\0asm\x01\0\0\0"));
        assert!(!has_debug_sections(b"body { } .debug_info"));
    }

    #[test]
    fn compression_shrinks_repetition() {
        let text = "hello world ".repeat(1000);
        assert!(gzip9(text.as_bytes()) < 200);
        assert!(brotli11(text.as_bytes()) < 200);
        assert!(gzip9(b"") > 0);
    }
}
