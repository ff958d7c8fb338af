//! The official geographic code, as data: the current communes (and the
//! municipal arrondissements of Paris, Lyon, Marseille) with their names,
//! départements and postcodes, and the EPCI with their member communes.
//! `build.rs` cuts them from npm's `@etalab/decoupage-administratif` (the
//! data Etalab publishes from INSEE's code officiel géographique) into two
//! tables embedded in the binary.
//!
//! Agents know communes by name and postcode, not by INSEE code: `find`
//! takes any of the three; the API refuses a code that is not a current
//! commune; an EPCI given as a territory expands to its communes.

use std::{collections::HashMap, sync::LazyLock};

use super::{CommuneCode, ParseError, TerritoryCode};

const COMMUNES: &str = include_str!(concat!(env!("OUT_DIR"), "/communes.tsv"));
const EPCI: &str = include_str!(concat!(env!("OUT_DIR"), "/epci.tsv"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commune {
    pub code: &'static str,
    pub name: &'static str,
    pub departement: &'static str,
    pub postcodes: Vec<&'static str>,
    /// The SIREN of its EPCI, if it belongs to one.
    pub epci: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epci {
    pub siren: &'static str,
    pub name: &'static str,
    pub members: Vec<&'static str>,
}

struct Geo {
    communes: Vec<Commune>,
    by_code: HashMap<&'static str, usize>,
    by_name: HashMap<String, Vec<usize>>,
    by_postcode: HashMap<&'static str, Vec<usize>>,
    epci: HashMap<&'static str, Epci>,
}

static GEO: LazyLock<Geo> = LazyLock::new(|| {
    let mut communes = Vec::new();
    for line in COMMUNES.lines() {
        let f: Vec<&'static str> = line.split('\t').collect();
        if let [code, name, departement, postcodes, epci] = f[..] {
            communes.push(Commune {
                code,
                name,
                departement,
                postcodes: postcodes.split(',').filter(|p| !p.is_empty()).collect(),
                epci: Some(epci).filter(|e| !e.is_empty()),
            });
        }
    }
    let (mut by_code, mut by_name, mut by_postcode) =
        (HashMap::new(), HashMap::<_, Vec<_>>::new(), HashMap::<_, Vec<_>>::new());
    for (i, c) in communes.iter().enumerate() {
        by_code.insert(c.code, i);
        by_name.entry(normalise(c.name)).or_default().push(i);
        for p in &c.postcodes {
            by_postcode.entry(*p).or_default().push(i);
        }
    }
    let epci = EPCI
        .lines()
        .filter_map(|line| {
            let f: Vec<&'static str> = line.split('\t').collect();
            match f[..] {
                [siren, name, members] => Some((siren, Epci { siren, name, members: members.split(',').collect() })),
                _ => None,
            }
        })
        .collect();
    Geo { communes, by_code, by_name, by_postcode, epci }
});

/// A name as people type it and as it is compared: lower case, without
/// accents, hyphens and apostrophes as spaces, "st"/"ste" as "saint"/"sainte".
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        let plain = match c {
            'à' | 'â' | 'ä' | 'á' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' => "i",
            'ô' | 'ö' | 'ó' => "o",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'ÿ' => "y",
            'ç' => "c",
            'œ' => "oe",
            'æ' => "ae",
            '-' | '\'' | '’' | '_' | '.' => " ",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(plain);
    }
    out.split_whitespace()
        .map(|w| match w {
            "st" => "saint",
            "ste" => "sainte",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The current commune of that INSEE code.
pub fn commune(code: &str) -> Option<&'static Commune> {
    let g = &*GEO;
    g.by_code.get(code.trim().to_ascii_uppercase().as_str()).map(|&i| &g.communes[i])
}

/// Whether the code names a current commune (not a merged-away one).
pub fn is_current(code: &CommuneCode) -> bool {
    commune(code.as_str()).is_some()
}

/// The EPCI of that SIREN.
pub fn epci(siren: &str) -> Option<&'static Epci> {
    GEO.epci.get(siren.trim())
}

/// What an agent typed, looked up: an INSEE code, a postcode, or a name.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    One(&'static Commune),
    /// A name or postcode shared by several communes: say which.
    Several(Vec<&'static Commune>),
    Nothing,
}

/// An INSEE code first: in most départements postcodes are also the INSEE
/// codes of other communes (59140 is Caullery's code and one of
/// Dunkerque's postcodes), and agents who type codes type INSEE codes, as
/// the API takes them. A postcode is taken as such only when it is no INSEE
/// code (80000, Amiens); the pages show the communes found by name, so a
/// misread code shows.
pub fn find(input: &str) -> Found {
    let g = &*GEO;
    let t = input.trim();
    if let Some(c) = commune(t) {
        return Found::One(c);
    }
    let hits: Vec<&'static Commune> = if t.len() == 5 && t.bytes().all(|b| b.is_ascii_digit()) {
        g.by_postcode.get(t).into_iter().flatten().map(|&i| &g.communes[i]).collect()
    } else {
        g.by_name.get(&normalise(t)).into_iter().flatten().map(|&i| &g.communes[i]).collect()
    };
    match hits.as_slice() {
        [] => Found::Nothing,
        [one] => Found::One(one),
        _ => Found::Several(hits),
    }
}

/// The communes of these territories (for a form's suggestions), by name.
pub fn communes_within(territory: &[TerritoryCode]) -> Vec<&'static Commune> {
    let mut out: Vec<&'static Commune> = GEO
        .communes
        .iter()
        .filter(|c| {
            territory.iter().any(|t| match t {
                TerritoryCode::Departement(d) => c.departement == d,
                TerritoryCode::Commune(code) => c.code == code.as_str(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(b.name).then(a.code.cmp(b.code)));
    out
}

/// An organisation's territory as given: a département, a current commune,
/// or an EPCI by its SIREN, which stands for its member communes.
pub fn territory(input: &str) -> Result<Vec<TerritoryCode>, ParseError> {
    let t = input.trim();
    if t.len() == 9 && t.bytes().all(|b| b.is_ascii_digit()) {
        let e = epci(t).ok_or_else(|| ParseError::new(format!("{t} is not the SIREN of an EPCI")))?;
        return e.members.iter().map(|m| CommuneCode::parse(m).map(TerritoryCode::Commune)).collect();
    }
    match TerritoryCode::parse(t)? {
        TerritoryCode::Commune(c) if !is_current(&c) => {
            Err(ParseError::new(format!("{c} is not a current commune of the code officiel géographique")))
        }
        other => Ok(vec![other]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Found {
        fn map_name(&self) -> Option<&'static str> {
            match self {
                Found::One(c) => Some(c.name),
                _ => None,
            }
        }
    }

    #[test]
    fn communes_by_code_postcode_and_name() {
        assert_eq!(commune("59183").unwrap().name, "Dunkerque");
        assert!(commune("99999").is_none());
        assert_eq!(find("Dunkerque"), Found::One(commune("59183").unwrap()));
        assert_eq!(find("  dunkerque "), Found::One(commune("59183").unwrap()));
        assert_eq!(find("Coudekerque-Branche"), find("coudekerque branche"));
        assert_eq!(find("80000"), Found::One(commune("80021").unwrap()), "Amiens's postcode, no INSEE code");
        assert_eq!(find("59140").map_name(), Some("Caullery"), "an INSEE code first, though Dunkerque's postcode");
        assert!(matches!(find("75011"), Found::Several(v) if v.len() == 2), "Paris and its 11th arrondissement");
        assert!(matches!(find("Sainte-Marie"), Found::Several(v) if v.len() > 5), "a name many communes share");
        assert_eq!(find("Dunkerk"), Found::Nothing);
        assert_eq!(normalise("St-Pol-sur-Mer"), "saint pol sur mer");
        assert_eq!(find("St-Pol-sur-Mer"), find("Saint-Pol-sur-Mer"));
    }

    #[test]
    fn an_epci_stands_for_its_communes() {
        let cud = epci("245900428").unwrap();
        assert!(cud.name.contains("Dunkerque"), "{}", cud.name);
        let t = territory("245900428").unwrap();
        assert_eq!(t.len(), cud.members.len());
        assert!(t.contains(&TerritoryCode::Commune(CommuneCode::parse("59183").unwrap())));
        assert!(t.contains(&TerritoryCode::Commune(CommuneCode::parse("59155").unwrap())), "Coudekerque-Branche");
        assert_eq!(commune("59183").unwrap().epci, Some("245900428"));
        assert!(territory("99999").unwrap_err().to_string().contains("not a current commune"));
        assert_eq!(territory("59").unwrap(), [TerritoryCode::Departement("59".into())]);
        assert!(territory("123456789").is_err());
    }
}
