//! Compiles the default mail templates into the binary: every
//! `templates/<lang>/NAME.txt|html` becomes an entry of the list
//! `src/templates/defaults.rs` includes, so a translation is shipped by
//! adding its file (no list to keep in step by hand).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for lang in std::fs::read_dir(&root).expect("templates/ is readable") {
        let lang = lang.expect("templates/ entry").path();
        if !lang.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", lang.display());
        for file in std::fs::read_dir(&lang).expect("templates/<lang>/ is readable") {
            let path = file.expect("templates/<lang>/ entry").path();
            let is_template = path.extension().is_some_and(|e| e == "txt" || e == "html");
            if is_template {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        let rel = path
            .strip_prefix(&root)
            .expect("under templates/")
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push(']');
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("defaults.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
