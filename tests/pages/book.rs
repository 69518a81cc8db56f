//! The book's own consistency, which mdBook lets slide: every `{{#include}}`
//! names a file that exists and, when it names an anchor, a file that has
//! that anchor (so a renamed function cannot silently empty a chapter's
//! listing); every link from one chapter to another, or to a heading in
//! one, resolves.

use crate::common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn book() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src")
}

fn chapters() -> Vec<PathBuf> {
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(book())
        .expect("docs/src")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    chapters.sort();
    chapters
}

/// Each chapter's file name, path and text.
fn read_chapters() -> Vec<(String, PathBuf, String)> {
    chapters()
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a chapter");
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, path, text)
        })
        .collect()
}

/// Every `{{#include X}}` target in `text`.
fn includes(text: &str) -> Vec<&str> {
    text.split("{{#include ")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(target, _)| target.trim()))
        .collect()
}

/// Every `](target)` link target in `text`.
fn links(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
        .filter(|target| !target.contains(' '))
        .collect()
}

/// The ids mdBook gives the headings of `chapter` (outside code blocks).
fn heading_ids(chapter: &Path) -> HashSet<String> {
    let text = std::fs::read_to_string(chapter).expect("a chapter");
    let mut in_code = false;
    let mut ids = HashSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            let id: String = line
                .trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            ids.insert(id);
        }
    }
    ids
}

#[test]
fn every_include_and_anchor_exists() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for (name, chapter, text) in read_chapters() {
        for target in includes(&text) {
            seen += 1;
            let (path, anchor) = target.split_once(':').unwrap_or((target, ""));
            let included = chapter.parent().expect("docs/src").join(path);
            let Ok(source) = std::fs::read_to_string(&included) else {
                problems.push(format!("{name}: includes {path}, which does not exist"));
                continue;
            };
            // `:16:` or `3:9` is a line range, not an anchor.
            let is_anchor =
                !anchor.is_empty() && !anchor.chars().all(|c| c.is_ascii_digit() || c == ':');
            if is_anchor && !source.contains(&format!("ANCHOR: {anchor}\n")) {
                problems.push(format!("{name}: {path} has no anchor {anchor:?}"));
            }
        }
    }
    assert!(seen > 20, "only {seen} includes found: is the scan broken?");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_link_between_chapters_resolves() {
    let mut problems = Vec::new();
    let mut seen = 0;
    for (name, chapter, text) in read_chapters() {
        for target in links(&text) {
            let (page, fragment) = target.split_once('#').unwrap_or((target, ""));
            if page.contains(':') || (!page.is_empty() && !page.ends_with(".md")) {
                continue; // another site, or not a chapter
            }
            seen += 1;
            let linked = if page.is_empty() {
                chapter.clone()
            } else {
                chapter.parent().expect("docs/src").join(page)
            };
            if !linked.is_file() {
                problems.push(format!("{name}: links to {page}, which does not exist"));
            } else if !fragment.is_empty() && !heading_ids(&linked).contains(fragment) {
                problems.push(format!("{name}: links to {target}: no such heading"));
            }
        }
    }
    assert!(seen > 20, "only {seen} links found: is the scan broken?");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `mdbook` and `mdbook-mermaid`: from `PATH`, or where `cargo install` puts them.
fn tool(name: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is missing: `bash scripts/install-deps.sh` installs it"))
}

/// Every diagram in the book is drawn: the book is built (with the mermaid
/// preprocessor), each chapter with diagrams is opened in Chromium, and each
/// diagram must have become a picture, not mermaid's "syntax error" one.
#[test]
fn every_diagram_renders_in_the_built_book() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let out = std::env::temp_dir().join(format!("videochat-book-{}", std::process::id()));
    let install = common::deadline::output_within(
        std::process::Command::new(tool("mdbook-mermaid"))
            .arg("install")
            .arg(&docs),
        "mdbook-mermaid install",
        std::time::Duration::from_secs(60),
    );
    assert!(
        install.status.success(),
        "mdbook-mermaid install failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    let build = common::deadline::output_within(
        std::process::Command::new(tool("mdbook"))
            .args(["build", "--dest-dir"])
            .arg(&out)
            .arg(&docs),
        "mdbook build",
        std::time::Duration::from_secs(120),
    );
    assert!(
        build.status.success(),
        "mdbook build failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );

    let mut pages = Vec::new();
    for (_, chapter, text) in read_chapters() {
        let diagrams = text.matches("```mermaid").count();
        if diagrams > 0 {
            let stem = chapter
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            pages.push((out.join(format!("{stem}.html")), diagrams));
        }
    }
    assert!(
        pages.len() >= 6,
        "diagrams in only {} chapters",
        pages.len()
    );
    common::deadline::run(async {
        let browser = common::browser::browser().await;
        for (page, diagrams) in &pages {
            let url = format!("file://{}", page.display());
            let window = browser.open("book", &url).await;
            let condition = format!(
                "const blocks = [...document.querySelectorAll('pre.mermaid')]; \
                 const drawn = blocks.filter((b) => b.querySelector('svg') \
                   && !b.querySelector('svg[aria-roledescription=\"error\"]') \
                   && !b.textContent.includes('Syntax error')); \
                 return blocks.length === {diagrams} && drawn.length === {diagrams} && drawn.length;"
            );
            window
                .wait_for(
                    &format!("{diagrams} diagrams drawn in {}", page.display()),
                    &condition,
                    std::time::Duration::from_secs(20),
                )
                .await;
            window.close().await;
        }
    });
    let _ = std::fs::remove_dir_all(&out);
}
