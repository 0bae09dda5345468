//! Names the commit the binary was built from, for `latchkey --version`. Outside a git checkout
//! (a source tarball) the commit is `unknown`; `LATCHKEY_GIT_COMMIT` set at build time wins.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LATCHKEY_GIT_COMMIT");
    let commit = std::env::var("LATCHKEY_GIT_COMMIT").ok().filter(|c| !c.trim().is_empty()).or_else(|| {
        let output = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        let commit = String::from_utf8(output.stdout).ok()?.trim().to_string();
        (output.status.success() && !commit.is_empty()).then_some(commit)
    });
    // Rebuild when HEAD moves (a commit or a checkout), not on every build.
    // (In a worktree HEAD is in its own git dir, the branches in the common one.)
    let git_path = |what: &str| {
        let output = Command::new("git").args(["rev-parse", "--git-path", what]).output().ok()?;
        let path = String::from_utf8(output.stdout).ok()?.trim().to_string();
        (output.status.success() && !path.is_empty()).then_some(path)
    };
    for what in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(path) = git_path(what) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    println!("cargo:rustc-env=LATCHKEY_GIT_COMMIT={}", commit.unwrap_or_else(|| "unknown".into()));
}
