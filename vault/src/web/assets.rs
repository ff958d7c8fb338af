//! The pages' stylesheets, icons and fonts: the State's design system
//! (DSFR) as `build.rs` embedded it, served by the vault itself so the
//! pages need no other site. Each asset lives under a digest of the whole
//! set (`/static/<VERSION>/<file>`): browsers keep it a year, and a new
//! build's pages name new addresses.

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// One embedded file.
pub struct Asset {
    /// Its name under `/static/<VERSION>/`.
    pub path: &'static str,
    pub media_type: &'static str,
    pub body: &'static [u8],
    /// The same bytes gzipped, for text (fonts are compressed already).
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The address of the DSFR stylesheet (components, icons, our additions).
pub fn stylesheet() -> String {
    format!("/static/{VERSION}/dsfr.css")
}

/// The address of the pages' one script (an upload's progress; the pages
/// work without it).
pub fn script() -> String {
    format!("/static/{VERSION}/upload.js")
}

/// The address of the State's fonts (Marianne, Spectral): linked only when
/// the operator is a State body.
pub fn state_fonts() -> String {
    format!("/static/{VERSION}/marianne.css")
}

/// The asset of that name, if embedded.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == name)
}

/// `GET /static/{version}/{file}`.
pub async fn serve(Path((version, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    // An address from another build is not this build's file: a page
    // asking for it is stale, and reloading it names the current one.
    let Some(asset) = find(&file).filter(|_| version == VERSION) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let gzip = asset.gzip.filter(|_| accepts_gzip(&headers));
    let mut resp = gzip.unwrap_or(asset.body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.media_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // An SVG opened on its own is a document: it may run nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    if gzip.is_some() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    resp
}

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "").trim_start_matches("q=").parse::<f32>() == Ok(0.0));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn gzip_only_when_the_browser_takes_it() {
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&with("br, gzip;q=0")));
        assert!(!accepts_gzip(&with("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_stylesheets_and_every_file_they_name_are_embedded() {
        let css = std::str::from_utf8(find("dsfr.css").unwrap().body).unwrap();
        assert!(css.contains(".fr-header") && css.contains(".fr-btn"), "the DSFR's components are in the bundle");
        let fonts = std::str::from_utf8(find("marianne.css").unwrap().body).unwrap();
        assert!(fonts.contains("Marianne") && !css.contains("@font-face"), "the State's fonts stand apart");
        let prefix = format!("url(/static/{VERSION}/");
        let mut named = 0;
        for sheet in [css, fonts] {
            for (i, _) in sheet.match_indices("url(") {
                let rest = &sheet[i..];
                if ["url(data:", "url(\"data:", "url('data:"].iter().any(|p| rest.starts_with(p)) {
                    continue;
                }
                assert!(rest.starts_with(&prefix), "every address is the vault's own: {}", &rest[..60.min(rest.len())]);
                let name = &rest[prefix.len()..rest.find(')').unwrap()];
                assert!(find(name).is_some(), "{name} is embedded");
                named += 1;
            }
        }
        assert!(named > 10, "icons and fonts are named ({named})");
    }
}
