//! A step's page folder, served as static files.

use std::path::{Path, PathBuf};

use actix_files::Files;

use super::error::StartError;
use super::step::Step;
use crate::config::Config;

/// The step's page folder, which must hold an `index.html`.
pub fn folder_of(step: &Step, config: &Config) -> Result<PathBuf, StartError> {
    let pages = config.static_root.join(step.name());
    if pages.join("index.html").is_file() {
        Ok(pages)
    } else {
        Err(StartError::StaticFolderMissing(pages))
    }
}

/// The files of `pages`, with `index.html` for `/`; no caching headers, so
/// an edited file is what the next reload gets; and no symbolic links that
/// lead out of the folder.
pub fn files(pages: &Path, real_pages: &Path) -> Files {
    let real_pages = real_pages.to_path_buf();
    Files::new("/", pages)
        .index_file("index.html")
        .use_etag(false)
        .use_last_modified(false)
        .path_filter(move |path, _| stays_inside(&real_pages, path))
}

/// True when `requested` (relative to the page folder) does not lead out of
/// it through a symbolic link. A path that does not exist passes: the file
/// service answers 404 for it.
fn stays_inside(real_pages: &Path, requested: &Path) -> bool {
    match real_pages.join(requested).canonicalize() {
        Ok(real) => real.starts_with(real_pages),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolic_links_out_of_the_page_folder_are_not_followed() {
        let root = std::env::temp_dir().join(format!("videochat-links-{}", std::process::id()));
        let pages = root.join("pages");
        std::fs::create_dir_all(pages.join("inner")).unwrap();
        std::fs::write(root.join("secret.txt"), "secret").unwrap();
        std::fs::write(pages.join("inner/page.js"), "ok").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("secret.txt"), pages.join("out.txt")).unwrap();
            std::os::unix::fs::symlink(pages.join("inner/page.js"), pages.join("alias.js"))
                .unwrap();
        }
        let real = pages.canonicalize().unwrap();
        assert!(stays_inside(&real, Path::new("inner/page.js")));
        assert!(stays_inside(&real, Path::new("missing.js")));
        #[cfg(unix)]
        {
            assert!(!stays_inside(&real, Path::new("out.txt")));
            assert!(stays_inside(&real, Path::new("alias.js")));
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
