//! Helpers shared by the example tests.

use std::path::PathBuf;

/// A fresh, empty folder under the system's temp folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `<temp>/tapegrad-<prefix>-<name>-<pid>`, emptied first.
    pub fn new(prefix: &str, name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tapegrad-{prefix}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temp folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
