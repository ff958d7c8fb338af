//! The deployment files cannot drift from the code: every `VAULT_*` and
//! `SCANNER_*` variable they set is one the binaries accept (as listed by
//! `dnu-vault serve --help` and `scanner-ingest watch --help`), every key of
//! the example TOML is a setting, and the manifests are well-formed YAML
//! with the probes the vault serves.

use std::{collections::BTreeSet, path::Path, process::Command};

use e2e::{bin, files_under, scanner_bin};

/// The variable names a `--help` text shows as `[env: NAME=…]`.
fn accepted(help: &str) -> BTreeSet<String> {
    // The help wraps lines, sometimes inside the brackets.
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    help.split("[env: ").skip(1).filter_map(|rest| rest.split(['=', ']']).next()).map(str::to_owned).collect()
}

fn help(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin).args(args).output().expect("run --help");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every `VAULT_…`/`SCANNER_…` name written in `text`.
fn names_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for prefix in ["VAULT_", "SCANNER_"] {
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().next_back();
            let tail = &rest[i..];
            let len =
                tail.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')).unwrap_or(tail.len());
            if len > prefix.len() && !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.insert(tail[..len].trim_end_matches('_').to_owned());
            }
            rest = &tail[len..];
        }
    }
    names
}

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[test]
fn deployment_files_set_only_variables_the_binaries_accept() {
    let mut known = accepted(&help(&bin(), &["serve", "--help"]));
    known.extend(accepted(&help(&scanner_bin(), &["watch", "--help"])));
    assert!(known.contains("VAULT_DATABASE_URL") && known.contains("SCANNER_VAULT_URL"), "{known:?}");
    // The scanner's token may also come from the environment (never argv):
    // its help names it in prose.
    known.insert("SCANNER_TOKEN".into());

    let files = files_under(&deploy_dir());
    let mut checked = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        for name in names_in(&text) {
            assert!(known.contains(&name), "{} sets {name}, which the binaries do not accept", f.display());
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} variable mentions found under deploy/");

    // The example TOML's keys are settings (VAULT_ + the key in capitals).
    let toml = std::fs::read_to_string(deploy_dir().join("config/vault.toml")).unwrap();
    for line in toml.lines().filter(|l| !l.trim_start().starts_with('#') && l.contains('=')) {
        let key = line.split('=').next().unwrap().trim();
        let var = format!("VAULT_{}", key.to_ascii_uppercase());
        assert!(known.contains(&var), "deploy/config/vault.toml: {key} is not a setting");
    }
    // And the check itself catches a stray name.
    assert!(!known.contains("VAULT_S3_ACCESS_KEY_ID_FILE"));
    assert_eq!(names_in("x VAULT_NOPE_2: y"), BTreeSet::from(["VAULT_NOPE_2".to_owned()]));
}

#[test]
fn manifests_are_yaml_with_the_vault_probes() {
    let script = r#"
import sys, yaml, glob, os
docs = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "k8s", "*.yaml"))) + [os.path.join(sys.argv[1], "compose.yaml")]:
    docs += [d for d in yaml.safe_load_all(open(f)) if d]
kinds = {d.get("kind") for d in docs}
need = {"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job"}
assert need <= kinds, need - kinds
dep = next(d for d in docs if d.get("kind") == "Deployment")
pod = dep["spec"]["template"]["spec"]
c = pod["containers"][0]
assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert pod["securityContext"]["runAsNonRoot"] is True
sc = c["securityContext"]
assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
compose = next(d for d in docs if "services" in d)
for s in ("postgres", "garage", "garage-init", "vault-1", "vault-2", "nginx", "scanner-ingest"):
    assert s in compose["services"], s
print("ok")
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(deploy_dir()).output().expect("python3");
    assert!(
        out.status.success(),
        "manifests: {} (PyYAML comes with the aws CLI: pip install awscli)",
        String::from_utf8_lossy(&out.stderr)
    );
}
