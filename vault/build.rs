//! Build step of the pages' look: the State's design system (DSFR, npm's
//! `@gouvfr/dsfr`, pinned by `web/package-lock.json`) is embedded into the
//! binary, so the pages need no network beyond the vault itself (no CDN).
//!
//! Only what the pages use is taken: the core and the components listed in
//! [`COMPONENTS`] (405 KB of CSS, 53 KB gzipped, against 728 KB for the
//! whole DSFR), our own additions (`web/vault.css`, and `web/upload.js`,
//! the pages' one script: an upload's progress), the icons and fonts
//! those stylesheets name. The `@font-face` rules (Marianne, Spectral: the
//! State's brand) go to a stylesheet of their own, linked only when the
//! operator is a State body. Every asset is addressed under a digest of the
//! whole set, so browsers may keep it for a year.
//!
//! The official geographic code comes the same way (npm's
//! `@etalab/decoupage-administratif`, same lockfile): the current communes
//! (name, département, postcodes) and the EPCI with their members, cut down
//! to two tab-separated tables (1.5 MB instead of 12.6 MB of JSON) that
//! `domain::geo` reads.
//!
//! Where they come from: `DNU_VAULT_DSFR_DIST` and `DNU_VAULT_GEO_DATA`
//! (the DSFR's `dist/` and the geographic code's `data/` directories, for
//! builds without npm), else `web/node_modules`, installed here with
//! `npm ci --ignore-scripts` (the lockfile's exact tree, no install
//! scripts) when something is absent.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    hash::{DefaultHasher, Hasher},
    io::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

/// DSFR components the pages use, in the order of the DSFR's own bundle
/// (later rules build on earlier ones).
const COMPONENTS: &[&str] = &[
    "button",
    "form",
    "skiplink",
    "link",
    "upload",
    "badge",
    "logo",
    "connect",
    "breadcrumb",
    "input",
    "select",
    "checkbox",
    "tag",
    "alert",
    "notice",
    "content",
    "footer",
    "table",
    "header",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("../web");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=DNU_VAULT_DSFR_DIST");
    println!("cargo:rerun-if-env-changed=DNU_VAULT_GEO_DATA");
    println!("cargo:rerun-if-changed={}", web.join("package-lock.json").display());
    println!("cargo:rerun-if-changed={}", web.join("vault.css").display());
    println!("cargo:rerun-if-changed={}", web.join("upload.js").display());
    let (dist, geo) = match (std::env::var_os("DNU_VAULT_DSFR_DIST"), std::env::var_os("DNU_VAULT_GEO_DATA")) {
        (Some(d), Some(g)) => (PathBuf::from(d), PathBuf::from(g)),
        (d, g) => {
            let modules = installed(&web);
            (
                d.map_or_else(|| modules.join("@gouvfr/dsfr/dist"), PathBuf::from),
                g.map_or_else(|| modules.join("@etalab/decoupage-administratif/data"), PathBuf::from),
            )
        }
    };
    geography(&geo, &out);
    if !dist.join("core/core.main.min.css").is_file() {
        panic!("no DSFR at {}: set DNU_VAULT_DSFR_DIST to @gouvfr/dsfr's dist/ directory", dist.display());
    }

    let mut sheets: Vec<(String, String)> = vec![("core".into(), read_text(&dist.join("core/core.main.min.css")))];
    for c in COMPONENTS {
        let rel = format!("component/{c}/{c}.main.min.css");
        sheets.push((format!("component/{c}"), read_text(&dist.join(&rel))));
    }
    // Files the stylesheets name (icons, fonts), by flat name.
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut main = String::new();
    let mut fonts = String::new();
    for (dir, text) in &sheets {
        let (faces, rest) = split_font_faces(text);
        fonts.push_str(&rewrite_urls(&faces, dir, &dist, &mut files));
        main.push_str(&rewrite_urls(&rest, dir, &dist, &mut files));
        main.push('\n');
    }
    main.push_str(&read_text(&web.join("vault.css")));
    // Our one script: an upload's progress (the pages work without it).
    let script = read_text(&web.join("upload.js"));

    let mut digest = DefaultHasher::new();
    digest.write(main.as_bytes());
    digest.write(fonts.as_bytes());
    digest.write(script.as_bytes());
    for (path, bytes) in &files {
        digest.write(path.as_bytes());
        digest.write(bytes);
    }
    let version = format!("{:016x}", digest.finish());
    // The stylesheets name their assets relative to /static/<version>/.
    let main = main.replace("@ASSETS@", &format!("/static/{version}"));
    let fonts = fonts.replace("@ASSETS@", &format!("/static/{version}"));

    let dir = out.join("dsfr");
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");
    let mut table = String::new();
    writeln!(table, "/// The digest under which every asset is served.\npub const VERSION: &str = \"{version}\";").ok();
    writeln!(table, "/// Every embedded asset, by name under `/static/<VERSION>/`.\npub static ASSETS: &[Asset] = &[")
        .ok();
    let mut emit = |name: &str, bytes: &[u8]| {
        let flat = name;
        std::fs::write(dir.join(flat), bytes).expect("OUT_DIR is writable");
        // Text compresses (CSS 405 KB to 53 KB); fonts are compressed already.
        let gz = if name.ends_with(".css") || name.ends_with(".svg") || name.ends_with(".js") {
            let gz_name = format!("{flat}.gz");
            std::fs::write(dir.join(&gz_name), gzip(bytes)).expect("OUT_DIR is writable");
            format!("Some(include_bytes!(concat!(env!(\"OUT_DIR\"), \"/dsfr/{gz_name}\")))")
        } else {
            "None".to_owned()
        };
        writeln!(
            table,
            "    Asset {{ path: {name:?}, media_type: {:?}, body: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/dsfr/{flat}\")), gzip: {gz} }},",
            media_type(name)
        )
        .ok();
    };
    emit("dsfr.css", main.as_bytes());
    emit("marianne.css", fonts.as_bytes());
    emit("upload.js", script.as_bytes());
    for (path, bytes) in &files {
        emit(path, bytes);
    }
    table.push_str("];\n");
    std::fs::write(out.join("assets.rs"), table).expect("OUT_DIR is writable");
}

/// `web/node_modules`, installed from the lockfile if what the build
/// takes from it is absent.
fn installed(web: &Path) -> PathBuf {
    let modules = web.join("node_modules");
    let complete = modules.join("@gouvfr/dsfr/dist/core/core.main.min.css").is_file()
        && modules.join("@etalab/decoupage-administratif/data/communes.json").is_file();
    if !complete {
        // The DSFR's own install script only prints advice; skipped, as
        // every package's is (nothing runs at install but npm itself).
        let status = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(web)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("`npm ci` in {} failed ({s}): the pages need the DSFR", web.display()),
            Err(e) => panic!(
                "npm is needed once to install the DSFR and the geographic code ({e}); or set DNU_VAULT_DSFR_DIST \
                 and DNU_VAULT_GEO_DATA to their dist/ and data/ directories"
            ),
        }
    }
    modules
}

/// `communes.tsv` (code, name, département, postcodes, EPCI SIREN) of the
/// current communes and the municipal arrondissements of Paris, Lyon and
/// Marseille, and `epci.tsv` (SIREN, name, member commune codes).
fn geography(data: &Path, out: &Path) {
    use serde_json::Value;
    let read = |name: &str| -> Vec<Value> {
        let path = data.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        serde_json::from_str(&read_text(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().replace(['\t', '\n'], " ");
    let epcis = read("epci.json");
    let mut epci_of: BTreeMap<String, String> = BTreeMap::new();
    let mut epci_tsv = String::new();
    for e in &epcis {
        let members: Vec<String> = e["membres"].as_array().into_iter().flatten().map(|m| text(m, "code")).collect();
        for m in &members {
            epci_of.insert(m.clone(), text(e, "code"));
        }
        writeln!(epci_tsv, "{}\t{}\t{}", text(e, "code"), text(e, "nom"), members.join(",")).ok();
    }
    let mut communes_tsv = String::new();
    let mut kept = 0;
    for c in read("communes.json") {
        let kind = c["type"].as_str().unwrap_or_default();
        if kind != "commune-actuelle" && kind != "arrondissement-municipal" {
            continue;
        }
        let code = text(&c, "code");
        let postcodes: Vec<&str> =
            c["codesPostaux"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let epci = epci_of.get(&code).cloned().unwrap_or_default();
        writeln!(
            communes_tsv,
            "{code}\t{}\t{}\t{}\t{epci}",
            text(&c, "nom"),
            text(&c, "departement"),
            postcodes.join(",")
        )
        .ok();
        kept += 1;
    }
    assert!(kept > 30_000 && epcis.len() > 1_000, "the geographic code looks truncated ({kept} communes)");
    std::fs::write(out.join("communes.tsv"), communes_tsv).expect("OUT_DIR is writable");
    std::fs::write(out.join("epci.tsv"), epci_tsv).expect("OUT_DIR is writable");
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The top-level `@font-face{…}` rules of a minified stylesheet, and the rest.
fn split_font_faces(css: &str) -> (String, String) {
    let (mut faces, mut rest) = (String::new(), String::new());
    let mut s = css;
    while let Some(i) = s.find("@font-face{") {
        rest.push_str(&s[..i]);
        let end = s[i..].find('}').map_or(s.len(), |j| i + j + 1);
        faces.push_str(&s[i..end]);
        s = &s[end..];
    }
    rest.push_str(s);
    (faces, rest)
}

/// Points each `url(…)` to a file (relative to the sheet's `dir`) at
/// `@ASSETS@/<path under dist, '/' made '-'>`, and collects the file; `data:` URLs stay.
/// The `.woff` fallbacks are dropped: every browser the pages support
/// takes the `.woff2` listed first.
fn rewrite_urls(css: &str, dir: &str, dist: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::with_capacity(css.len());
    let mut s = css;
    while let Some(i) = s.find("url(") {
        out.push_str(&s[..i]);
        let after = &s[i + 4..];
        let end = after.find(')').unwrap_or(after.len());
        let raw = after[..end].trim_matches(['"', '\'']);
        if raw.starts_with("data:") {
            out.push_str(&s[i..i + 4 + end + 1]);
            s = &after[end + 1..];
            continue;
        }
        let path = normalise(&format!("{dir}/{raw}"));
        if path.ends_with(".woff") {
            // `,url(x.woff) format("woff")`: drop it and the comma before.
            if out.ends_with(',') {
                out.pop();
            }
            let tail = &after[end + 1..];
            let skip = tail.strip_prefix(" format(\"woff\")").unwrap_or(tail);
            s = skip;
            continue;
        }
        let bytes = std::fs::read(dist.join(&path)).unwrap_or_else(|e| panic!("{path} (named by the DSFR): {e}"));
        // One flat name per file: the route is `/static/{version}/{file}`.
        let flat = path.replace('/', "-");
        if files.get(&flat).is_some_and(|b| *b != bytes) {
            panic!("two DSFR files flatten to {flat}");
        }
        out.push_str(&format!("url(@ASSETS@/{flat})"));
        files.insert(flat, bytes);
        s = &after[end + 1..];
    }
    out.push_str(s);
    out
}

/// `a/b/../../c` → `c`.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn media_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}
