//! France as the official geographic code describes it (npm's
//! `@etalab/decoupage-administratif`, the same files the vault embeds):
//! the current communes with their populations, grouped by département.
//! Demands are drawn in proportion to population, which puts them where
//! social housing is asked for: the cities.

use super::generate::Rng;

#[derive(Debug, Clone)]
pub struct Departement {
    pub code: String,
    /// Commune codes and cumulative populations, for weighted draws.
    pub communes: Vec<String>,
    cum: Vec<u64>,
    pub population: u64,
    /// The three most populous communes (a local bailleur's territory).
    pub largest: Vec<String>,
}

impl Departement {
    /// The territory part of a numéro unique: 3 characters.
    pub fn territory(&self) -> String {
        format!("{:0>3}", self.code)
    }

    pub fn pick_commune(&self, rng: &mut Rng) -> &str {
        let r = rng.below(self.population);
        let i = self.cum.partition_point(|&c| c <= r).min(self.communes.len() - 1);
        &self.communes[i]
    }
}

#[derive(Debug, Clone)]
pub struct France {
    pub departements: Vec<Departement>,
    cum: Vec<u64>,
    pub population: u64,
}

impl France {
    /// Reads `communes.json` of the geographic code.
    pub fn load(path: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{}: {e} (run `npm ci --prefix web --ignore-scripts`)", path.display()));
        let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("communes.json: {e}"));
        let mut by_dep: std::collections::BTreeMap<String, Vec<(String, u64)>> = Default::default();
        for c in &all {
            // The 101 départements: metropolitan France and the five
            // overseas départements (not the overseas collectivities,
            // outside the shared file's law).
            if c["type"] != "commune-actuelle" || !(c["zone"] == "metro" || c["zone"] == "drom") {
                continue;
            }
            let (Some(code), Some(dep)) = (c["code"].as_str(), c["departement"].as_str()) else { continue };
            let pop = c["population"].as_u64().unwrap_or(0).max(1);
            by_dep.entry(dep.to_owned()).or_default().push((code.to_owned(), pop));
        }
        let mut departements = Vec::new();
        for (code, mut communes) in by_dep {
            communes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let largest = communes.iter().take(3).map(|c| c.0.clone()).collect();
            let mut cum = Vec::with_capacity(communes.len());
            let mut total = 0;
            for (_, p) in &communes {
                total += p;
                cum.push(total);
            }
            departements.push(Departement {
                code,
                communes: communes.into_iter().map(|c| c.0).collect(),
                cum,
                population: total,
                largest,
            });
        }
        let mut cum = Vec::with_capacity(departements.len());
        let mut total = 0;
        for d in &departements {
            total += d.population;
            cum.push(total);
        }
        Self { departements, cum, population: total }
    }

    pub fn pick_departement(&self, rng: &mut Rng) -> usize {
        let r = rng.below(self.population);
        self.cum.partition_point(|&c| c <= r).min(self.departements.len() - 1)
    }
}
