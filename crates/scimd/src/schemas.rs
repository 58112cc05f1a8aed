//! `--schemas-dir` and `scimd schemas check`: schema and resource type documents read from a
//! directory, checked as `serve` would check them.

use std::path::Path;

use anyhow::{bail, Context as _};
use scim_model::schema::{unique_attribute, Declarations, SchemaRegistry};

/// The largest declaration file read: a schema of [`scim_model::schema::MAX_ATTRIBUTES`]
/// attributes with descriptions fits well within it.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads every `*.json` file of `dir` (not its subdirectories), in name order, and checks them
/// together against the built-in schemas.
///
/// # Errors
/// A directory that cannot be read, a file that is too large or not JSON (with its line and
/// column), or a declaration that cannot be served (with its file and JSON pointer).
pub fn load_dir(dir: &Path) -> anyhow::Result<Declarations> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("schemas_dir {}: cannot read the directory", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("schemas_dir {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("schemas_dir {}: no *.json file in it", dir.display());
    }
    let mut declarations = Declarations::new();
    for path in &files {
        let name = path.display().to_string();
        let size = std::fs::metadata(path).with_context(|| name.clone())?.len();
        if size > MAX_FILE_BYTES {
            bail!("{name}: {size} bytes; a declaration file may have at most {MAX_FILE_BYTES}");
        }
        let text = std::fs::read_to_string(path).with_context(|| name.clone())?;
        let document: serde_json::Value = serde_json::from_str(&text)
            .map_err(|error| anyhow::anyhow!("{name}: not JSON: {error}"))?;
        declarations.add_document(&name, &document)?;
    }
    // What `serve` does with them, so a check that passes means a start that does.
    declarations.apply(&SchemaRegistry::standard())?;
    Ok(declarations)
}

/// `scimd schemas check DIR`: prints what `dir` declares, or fails as `serve` would.
pub fn check(dir: &Path) -> anyhow::Result<()> {
    let declarations = load_dir(dir)?;
    let standard = SchemaRegistry::standard();
    let served = declarations.apply(&standard)?;
    for schema in declarations.schemas() {
        println!(
            "schema {} ({} attributes)",
            schema.id(),
            schema.attributes().len()
        );
    }
    for resource_type in served.resource_types() {
        let name = resource_type.name();
        if standard.resource_type(name).is_none() {
            println!(
                "resource type {name} at {} (schema {}{})",
                resource_type.definition().endpoint,
                resource_type.core_schema().id(),
                unique_attribute(resource_type)
                    .map(|unique| format!(", unique {unique}"))
                    .unwrap_or_default()
            );
        }
    }
    for resource_type in served.resource_types() {
        for attribute in declarations.indexed(resource_type) {
            println!("{} index {attribute}", resource_type.name());
        }
    }
    for resource_type in declarations.resource_types() {
        for extension in &resource_type.schema_extensions {
            println!(
                "{} extension {}{}",
                resource_type.name,
                extension.schema,
                if extension.required {
                    " (required)"
                } else {
                    ""
                }
            );
        }
    }
    println!("{}: the declarations can be served", dir.display());
    Ok(())
}
