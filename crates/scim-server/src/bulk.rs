//! `POST /Bulk` (RFC 7644 §3.7): many operations in one request, each run through the same
//! validation, PATCH, member, password, event and ETag code as its single-resource handler
//! ([`crate::resources`]).
//!
//! How a request runs:
//! 1. The body is read within [`BulkLimits::max_payload_bytes`] and the message checked; too
//!    many operations (§3.7.4) or a malformed message is refused whole, before any work.
//! 2. Every POST gets its resource id up front, so each `"bulkId:x"` (§3.7.2) — in a path, and
//!    as any string value of `data`, at any depth — is replaced by the id its POST will create.
//!    Each operation is then parsed and validated, and the passwords of the whole request are
//!    hashed at once (at most [`MAX_PASSWORDS_PER_BULK`]).
//! 3. Operations run in request order, except that a POST runs before the operations that
//!    reference it (a topological order). Operations on a reference cycle (§3.7.1), and those
//!    depending on one, are not run: 409. So are operations whose reference names no POST of
//!    the request, or a POST that failed.
//! 4. Operations run in chunks ([`POSTGRES_CHUNK`], [`SQLITE_CHUNK`] units): one transaction
//!    per chunk, a savepoint per unit, so each operation is all-or-nothing with its own events
//!    and the chunk commits once. A unit is one operation, or a run of up to [`CREATE_BATCH`]
//!    consecutive creates of one endpoint that need nothing but their row (an import): those
//!    are written together in a few multi-row statements, and if any of them fails, the
//!    savepoint is rolled back and they run again one at a time, so each still gets its own
//!    result. A chunk PostgreSQL aborts (deadlock, serialization) runs again whole.
//! 5. `failOnErrors` and [`BulkLimits::time_budget`] stop the run; operations not attempted are
//!    absent from the response, which lists the others in request order.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use scim_model::error::ScimError;
use scim_model::message::{
    BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse, ErrorResponse,
    BULK_REQUEST,
};
use scim_model::meta::etag;
use scim_model::patch;
use scim_store::{DbConnection, OrgId};
use serde_json::Value;

use crate::config::BulkLimits;
use crate::error::invalid_json;
use crate::resources::{
    self, expected_version, new_id, prehash, CreatePlan, Endpoint, Hashing, Prehashed, Profile,
    WritePlan, Writer,
};
use crate::state::url_under;
use crate::{media, resource, ApiError, Authenticated, ScimState};

/// Operations per transaction on PostgreSQL. Each operation takes one or two savepoints, and
/// PostgreSQL caches only 64 subtransactions of a transaction in shared memory: past that
/// ("subxid overflow") visibility checks read `pg_subtrans`, which slows every session. A
/// chunk's events are written together as its last statement, taking its organisation's outbox
/// lock only for the commit, so other writers wait on the chunk's row locks alone.
const POSTGRES_CHUNK: usize = 30;

/// Operations per transaction on SQLite, which has no such cache and one writer at a time:
/// there a commit (a WAL sync) is the cost to share.
const SQLITE_CHUNK: usize = 250;

/// Most creates written together (see the module docs, step 4).
const CREATE_BATCH: usize = 500;

/// The most distinct passwords one bulk request may carry, all operations together: each
/// costs an argon2 hash before any operation runs.
pub(crate) const MAX_PASSWORDS_PER_BULK: usize = 100;

/// The prefix of a reference to the resource a POST of the same request creates (§3.7.2).
const BULK_ID_PREFIX: &str = "bulkId:";

/// Registers `POST /Bulk`.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/Bulk", &[Method::POST]).route(web::post().to(bulk)));
}

/// One operation, ready to run.
#[derive(Debug)]
struct Planned {
    method: BulkMethod,
    bulk_id: Option<String>,
    /// The bulkIds it references (its path's and its data's).
    references: BTreeSet<String>,
    /// The resource it acts on, when its path names one: its endpoint and id (for a POST, the
    /// id it will create).
    target: Option<(&'static Endpoint, String)>,
    /// What to do, or why it cannot be done.
    action: Result<Action, ErrorResponse>,
}

#[derive(Debug)]
enum Action {
    Create(CreatePlan),
    Write {
        plan: WritePlan,
        expected: Option<i64>,
    },
    Delete {
        expected: Option<i64>,
    },
}

/// What one attempted operation came to.
#[derive(Debug, Clone)]
struct Outcome {
    status: u16,
    version: Option<i64>,
    error: Option<ErrorResponse>,
}

impl Outcome {
    fn failed(error: ErrorResponse) -> Self {
        Outcome {
            status: error.status,
            version: None,
            error: Some(error),
        }
    }
}

/// 409 for an operation whose reference cannot be resolved (RFC 7644 §3.7.1 answers an
/// unresolved circular reference with 409 Conflict; an unknown or failed one is unresolved
/// alike).
fn conflict(detail: String) -> ErrorResponse {
    ErrorResponse::new(409, None, Some(detail))
}

async fn bulk(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let limits = state.config().bulk;
    let bytes = media::read_body(&req, payload, limits.max_payload_bytes).await?;
    let request = parse_request(&bytes, &limits)?;
    drop(bytes);
    let base = state.base_url(&req);
    let org = auth.org;
    let fail_on_errors = request
        .fail_on_errors
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut planned = plan(&state, Profile::of(&req), request.operations);
    let mut passwords = Vec::new();
    for op in &planned {
        if let (Ok(action), Some((ep, _))) = (&op.action, &op.target) {
            match action {
                Action::Create(plan) => plan.passwords(ep, &mut passwords),
                Action::Write { plan, .. } => plan.passwords(ep, &mut passwords),
                Action::Delete { .. } => {}
            }
        }
    }
    let prehashed = Arc::new(prehash(&state, org, passwords, MAX_PASSWORDS_PER_BULK).await?);
    for op in &mut planned {
        if let (Ok(Action::Create(plan)), Some((ep, _))) = (&mut op.action, &op.target) {
            let hashing = Hashing {
                prehashed: &prehashed,
                verifier: state.verifier(),
                org,
            };
            if let Err(error) = plan.finish(ep, state.config(), &hashing) {
                op.action = Err(error.error_object());
            }
        }
    }
    let order = execution_order(&planned);
    let planned = Arc::new(planned);
    let token: Arc<str> = Arc::from(auth.token_id.as_str());
    let deadline = started + limits.time_budget;
    let mut run = Run::default();
    let chunk_size = match state.store().dialect() {
        scim_store::Dialect::Postgres => POSTGRES_CHUNK,
        scim_store::Dialect::Sqlite => SQLITE_CHUNK,
    };
    let units = units(&planned, &order);
    for chunk in units.chunks(chunk_size) {
        if run.errors >= fail_on_errors || Instant::now() >= deadline {
            break;
        }
        let chunk: Arc<[Vec<usize>]> = Arc::from(chunk);
        let job = Job {
            state: state.get_ref().clone(),
            planned: planned.clone(),
            prehashed: prehashed.clone(),
            token: token.clone(),
            base: base.clone(),
            org,
            fail_on_errors,
            deadline,
        };
        let before = run.clone();
        let ran = {
            let chunk = chunk.clone();
            state
                .transaction(org, move |conn| job.run_chunk(conn, &chunk, before.clone()))
                .await
        };
        match ran {
            Ok(after) => run = after,
            Err(error) => {
                // The chunk was rolled back whole: none of its operations happened. Say so for
                // each, and stop: the database is not taking writes now.
                let error = error.error_object();
                for &index in chunk.iter().flatten() {
                    run.outcomes.insert(index, Outcome::failed(error.clone()));
                }
                break;
            }
        }
    }
    let operations = respond_in_order(&planned, &run.outcomes, &base);
    media::respond(StatusCode::OK, &BulkResponse::new(operations))
}

/// Reads and checks the BulkRequest message (RFC 7644 §3.7): 400 for a body that is not one,
/// 413 above `maxOperations` (§3.7.4), before any operation runs.
fn parse_request(bytes: &[u8], limits: &BulkLimits) -> Result<BulkRequest, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| invalid_json(&e))?;
    let Value::Object(object) = &value else {
        return Err(ScimError::invalid_syntax("a BulkRequest must be a JSON object").into());
    };
    let declared = object
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| {
            schemas.iter().any(|schema| {
                schema
                    .as_str()
                    .is_some_and(|schema| schema.eq_ignore_ascii_case(BULK_REQUEST))
            })
        });
    if !declared {
        return Err(ScimError::invalid_syntax(format!(
            "`schemas` must name {BULK_REQUEST} (RFC 7644 §3.7)"
        ))
        .into());
    }
    let operations = match object
        .get("Operations")
        .or_else(|| object.get("operations"))
    {
        Some(Value::Array(operations)) => operations,
        _ => {
            return Err(ScimError::invalid_syntax(
                "a BulkRequest needs an `Operations` array (RFC 7644 §3.7)",
            )
            .into())
        }
    };
    if operations.len() > limits.max_operations {
        return Err(ScimError::payload_too_large(format!(
            "the request carries {} operations; at most {} are accepted (maxOperations, RFC \
             7644 §3.7.4)",
            operations.len(),
            limits.max_operations
        ))
        .into());
    }
    match object.get("failOnErrors") {
        None | Some(Value::Null) => {}
        Some(value)
            if value
                .as_u64()
                .is_some_and(|n| n >= 1 && n <= u64::from(u32::MAX)) => {}
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "`failOnErrors` must be a positive integer, not {other}"
            ))
            .into())
        }
    }
    for (index, operation) in operations.iter().enumerate() {
        check_operation(index + 1, operation)?;
    }
    serde_json::from_value(value).map_err(|e| {
        ScimError::invalid_syntax(format!("the body is not a BulkRequest: {e}")).into()
    })
}

/// Checks one operation of the message: an object with a known `method`, a `path`, and `data`
/// unless it is a DELETE.
fn check_operation(number: usize, operation: &Value) -> Result<(), ApiError> {
    let Value::Object(operation) = operation else {
        return Err(
            ScimError::invalid_syntax(format!("operation {number} is not an object")).into(),
        );
    };
    let method = match operation.get("method") {
        Some(Value::String(method)) => method,
        None | Some(Value::Null) => {
            return Err(
                ScimError::invalid_syntax(format!("operation {number} has no `method`")).into(),
            )
        }
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "operation {number}: `method` must be a string, not {other}"
            ))
            .into())
        }
    };
    let known = ["POST", "PUT", "PATCH", "DELETE"]
        .iter()
        .any(|known| known.eq_ignore_ascii_case(method));
    if !known {
        return Err(ScimError::invalid_value(format!(
            "operation {number}: `method` must be POST, PUT, PATCH or DELETE, not {method:?}"
        ))
        .into());
    }
    if !matches!(operation.get("path"), Some(Value::String(_))) {
        return Err(ScimError::invalid_syntax(format!(
            "operation {number} needs a `path` string, e.g. \"/Users\" or \"/Users/{{id}}\""
        ))
        .into());
    }
    for key in ["bulkId", "version"] {
        if !matches!(
            operation.get(key),
            None | Some(Value::Null) | Some(Value::String(_))
        ) {
            return Err(ScimError::invalid_value(format!(
                "operation {number}: `{key}` must be a string"
            ))
            .into());
        }
    }
    let needs_data = !method.eq_ignore_ascii_case("DELETE");
    if needs_data && !matches!(operation.get("data"), Some(Value::Object(_))) {
        return Err(ScimError::invalid_syntax(format!(
            "operation {number} ({}) needs a `data` object",
            method.to_uppercase()
        ))
        .into());
    }
    Ok(())
}

/// Assigns every POST its id, resolves the `bulkId` references to those ids, and parses and
/// validates every operation.
fn plan(state: &ScimState, profile: Profile, operations: Vec<BulkOperation>) -> Vec<Planned> {
    // The id each bulkId's POST will create; the first POST to declare a bulkId owns it.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut post_ids = Vec::with_capacity(operations.len());
    for operation in &operations {
        let id = (operation.method == BulkMethod::Post).then(new_id);
        if let (Some(id), Some(bulk_id)) = (&id, &operation.bulk_id) {
            ids.entry(bulk_id.clone()).or_insert_with(|| id.clone());
        }
        post_ids.push(id);
    }
    let mut declared = HashSet::new();
    operations
        .into_iter()
        .zip(post_ids)
        .map(|(operation, post_id)| {
            let duplicate = operation
                .bulk_id
                .as_ref()
                .is_some_and(|bulk_id| !declared.insert(bulk_id.clone()));
            plan_one(state, profile, operation, post_id, &ids, duplicate)
        })
        .collect()
}

fn plan_one(
    state: &ScimState,
    profile: Profile,
    operation: BulkOperation,
    post_id: Option<String>,
    ids: &HashMap<String, String>,
    duplicate: bool,
) -> Planned {
    let BulkOperation {
        method,
        bulk_id,
        version,
        path,
        data,
    } = operation;
    let mut references = BTreeSet::new();
    let (endpoint, path_id) = split_path(&path);
    let path_id = path_id.map(|id| resolve_text(id, ids, &mut references));
    let mut data = data;
    if let Some(data) = &mut data {
        resolve_value(data, ids, &mut references);
    }
    let mut planned = Planned {
        method,
        bulk_id,
        references,
        target: None,
        action: Err(ErrorResponse::new(500, None, None)),
    };
    if duplicate {
        planned.action = Err(ErrorResponse::new(
            400,
            Some(scim_model::message::ScimType::InvalidValue),
            Some(format!(
                "bulkId {:?} is declared by an earlier operation; a bulkId must be unique \
                 within a bulk request (RFC 7644 §3.7)",
                planned.bulk_id.as_deref().unwrap_or_default()
            )),
        ));
        return planned;
    }
    let Some(&ep) = state
        .endpoints()
        .iter()
        .find(|ep| ep.path.eq_ignore_ascii_case(endpoint))
    else {
        planned.action = Err(ErrorResponse::new(
            404,
            None,
            Some(format!("no endpoint {path:?}")),
        ));
        return planned;
    };
    let id = match (method, post_id, path_id) {
        (BulkMethod::Post, Some(id), None) => id,
        (BulkMethod::Post, _, _) => {
            planned.action = Err(invalid_value(format!(
                "a POST's path names a resource type's endpoint (\"/{}\"), not a resource",
                ep.path
            )));
            return planned;
        }
        (_, _, Some(id)) if !id.is_empty() => id,
        (_, _, _) => {
            planned.action = Err(invalid_value(format!(
                "a {method}'s path names a resource: \"/{}/{{id}}\"",
                ep.path
            )));
            return planned;
        }
    };
    planned.target = Some((ep, id));
    let expected = version.as_deref().and_then(expected_version);
    planned.action =
        prepare(state, profile, ep, method, data, expected).map_err(|e| e.error_object());
    planned
}

fn invalid_value(detail: String) -> ErrorResponse {
    ErrorResponse::new(
        400,
        Some(scim_model::message::ScimType::InvalidValue),
        Some(detail),
    )
}

/// Parses and validates one operation's `data` as its single-resource handler would.
fn prepare(
    state: &ScimState,
    profile: Profile,
    ep: &'static Endpoint,
    method: BulkMethod,
    data: Option<Value>,
    expected: Option<i64>,
) -> Result<Action, ApiError> {
    let config = state.config();
    let data = data.unwrap_or(Value::Null);
    match method {
        BulkMethod::Post => {
            let registry = state.registry();
            let rt = ep.resource_type(registry)?;
            Ok(Action::Create(CreatePlan::prepare(
                ep, config, profile, rt, &data,
            )?))
        }
        BulkMethod::Put => Ok(Action::Write {
            plan: WritePlan::replace(ep, config, profile, data),
            expected,
        }),
        BulkMethod::Patch => Ok(Action::Write {
            plan: WritePlan::modify(ep, config, profile, patch::request_from_value(data)?)?,
            expected,
        }),
        BulkMethod::Delete => Ok(Action::Delete { expected }),
    }
}

/// `/Users/abc` as (`Users`, `Some("abc")`); `/Users` as (`Users`, `None`).
fn split_path(path: &str) -> (&str, Option<&str>) {
    let path = path.trim();
    let path = path.strip_prefix('/').unwrap_or(path);
    match path.split_once('/') {
        Some((endpoint, id)) => (endpoint, Some(id)),
        None => (path, None),
    }
}

/// `text`, or the id its `bulkId:` reference resolves to (noted in `references`).
fn resolve_text(
    text: &str,
    ids: &HashMap<String, String>,
    references: &mut BTreeSet<String>,
) -> String {
    match text.strip_prefix(BULK_ID_PREFIX) {
        Some(bulk_id) => {
            references.insert(bulk_id.to_owned());
            ids.get(bulk_id).cloned().unwrap_or_else(|| text.to_owned())
        }
        None => text.to_owned(),
    }
}

/// Replaces every string value of `value` that is a `bulkId:` reference by the id it resolves
/// to, noting the reference. A reference that resolves to nothing stays, and its operation
/// fails before it runs.
fn resolve_value(
    value: &mut Value,
    ids: &HashMap<String, String>,
    references: &mut BTreeSet<String>,
) {
    match value {
        Value::String(text) if text.starts_with(BULK_ID_PREFIX) => {
            *text = resolve_text(text, ids, references);
        }
        Value::Array(items) => {
            for item in items {
                resolve_value(item, ids, references);
            }
        }
        Value::Object(object) => {
            for item in object.values_mut() {
                resolve_value(item, ids, references);
            }
        }
        _ => {}
    }
}

/// The order operations run in: request order, except that a POST runs before every operation
/// that references its bulkId (Kahn's algorithm, always taking the first ready operation in
/// request order). Operations that never become ready — on a reference cycle, or depending on
/// one — come last, in request order; they fail without running.
fn execution_order(planned: &[Planned]) -> Vec<usize> {
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (index, op) in planned.iter().enumerate() {
        if let (BulkMethod::Post, Some(bulk_id)) = (op.method, &op.bulk_id) {
            owner.entry(bulk_id.as_str()).or_insert(index);
        }
    }
    let mut waiting_on = vec![0_usize; planned.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); planned.len()];
    for (index, op) in planned.iter().enumerate() {
        for reference in &op.references {
            if let Some(&post) = owner.get(reference.as_str()) {
                waiting_on[index] += 1;
                dependents[post].push(index);
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..planned.len())
        .filter(|&index| waiting_on[index] == 0)
        .collect();
    let mut order = Vec::with_capacity(planned.len());
    let mut placed = vec![false; planned.len()];
    while let Some(index) = ready.pop_first() {
        order.push(index);
        placed[index] = true;
        for &dependent in &dependents[index] {
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 {
                ready.insert(dependent);
            }
        }
    }
    order.extend((0..planned.len()).filter(|&index| !placed[index]));
    order
}

/// The endpoint of `op` if it is a create that needs nothing but its row: no members to add
/// after it, no bulkId to wait for. Such creates can be written together.
fn batchable(op: &Planned) -> Option<&'static Endpoint> {
    match (&op.action, &op.target) {
        (Ok(Action::Create(plan)), Some((ep, _)))
            if plan.is_one_write(ep) && op.references.is_empty() =>
        {
            Some(ep)
        }
        _ => None,
    }
}

/// `order` cut into units: runs of up to [`CREATE_BATCH`] consecutive batchable creates of one
/// endpoint, and single operations.
fn units(planned: &[Planned], order: &[usize]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut batch_of: Option<&'static Endpoint> = None;
    for &index in order {
        let ep = batchable(&planned[index]);
        match (units.last_mut(), ep, batch_of) {
            (Some(unit), Some(ep), Some(current))
                if std::ptr::eq(ep, current) && unit.len() < CREATE_BATCH =>
            {
                unit.push(index);
            }
            _ => {
                units.push(vec![index]);
                batch_of = ep;
            }
        }
    }
    units
}

/// What the chunks have done so far.
#[derive(Debug, Clone, Default)]
struct Run {
    outcomes: HashMap<usize, Outcome>,
    /// The bulkIds whose POST succeeded.
    created: HashSet<String>,
    errors: usize,
}

/// What a chunk's transaction needs, owned, so it can run again from the start.
struct Job {
    state: ScimState,
    planned: Arc<Vec<Planned>>,
    prehashed: Arc<Prehashed>,
    token: Arc<str>,
    base: String,
    org: OrgId,
    fail_on_errors: usize,
    deadline: Instant,
}

impl Job {
    /// Runs the operations `chunk` names, each in a savepoint, from the state `run`. A failure
    /// that is the database's (a 5xx: unavailable, a transaction conflict) ends the chunk and
    /// rolls it back whole, so [`scim_store::Store::transaction`] can run it again from `run`.
    fn run_chunk(
        &self,
        conn: &mut DbConnection,
        chunk: &[Vec<usize>],
        mut run: Run,
    ) -> Result<Run, ApiError> {
        for unit in chunk {
            if unit.len() > 1 && run.errors < self.fail_on_errors && Instant::now() < self.deadline
            {
                if let Some(versions) = self.run_batch(conn, unit)? {
                    for (&index, version) in unit.iter().zip(versions) {
                        if let Some(bulk_id) = &self.planned[index].bulk_id {
                            run.created.insert(bulk_id.clone());
                        }
                        let outcome = Outcome {
                            status: 201,
                            version: Some(version),
                            error: None,
                        };
                        run.outcomes.insert(index, outcome);
                    }
                    continue;
                }
            }
            run = self.run_each(conn, unit, run)?;
        }
        Ok(run)
    }

    /// Writes the creates of `unit` together ([`scim_store::resources::create_many`], its own
    /// savepoint); returns their versions, or `None` when one of them fails for a reason of its
    /// own (its name is taken…), after which nothing of the batch remains written.
    fn run_batch(
        &self,
        conn: &mut DbConnection,
        unit: &[usize],
    ) -> Result<Option<Vec<i64>>, ApiError> {
        let Some(ep) = unit
            .first()
            .and_then(|&index| batchable(&self.planned[index]))
        else {
            return Ok(None);
        };
        let rt = ep.resource_type(self.state.registry())?;
        let mut new = Vec::with_capacity(unit.len());
        for &index in unit {
            let op = &self.planned[index];
            let (Ok(Action::Create(plan)), Some((_, id))) = (&op.action, &op.target) else {
                return Ok(None);
            };
            new.push(plan.new_resource(ep, rt, id.clone(), &self.token));
        }
        match scim_store::resources::create_many(conn, ep.kind, self.org, &new) {
            Ok(records) => Ok(Some(records.iter().map(|r| r.version).collect())),
            Err(error) => {
                let error = ApiError::from(error);
                if error.status().is_server_error() {
                    Err(error)
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Runs the operations of `unit` one at a time.
    fn run_each(
        &self,
        conn: &mut DbConnection,
        unit: &[usize],
        mut run: Run,
    ) -> Result<Run, ApiError> {
        for &index in unit {
            if run.errors >= self.fail_on_errors || Instant::now() >= self.deadline {
                break;
            }
            let op = &self.planned[index];
            let outcome = match self.run_one(conn, op, &run.created) {
                Ok(outcome) => {
                    if let (BulkMethod::Post, Some(bulk_id)) = (op.method, &op.bulk_id) {
                        run.created.insert(bulk_id.clone());
                    }
                    outcome
                }
                Err(Failure::Database(error)) => return Err(error),
                Err(Failure::Operation(error)) => {
                    run.errors += 1;
                    Outcome::failed(error)
                }
            };
            run.outcomes.insert(index, outcome);
        }
        Ok(run)
    }

    fn run_one(
        &self,
        conn: &mut DbConnection,
        op: &Planned,
        created: &HashSet<String>,
    ) -> Result<Outcome, Failure> {
        let action = op
            .action
            .as_ref()
            .map_err(|e| Failure::Operation(e.clone()))?;
        if let Some(reference) = op.references.iter().find(|r| !created.contains(*r)) {
            let declared = self.planned.iter().any(|other| {
                other.method == BulkMethod::Post && other.bulk_id.as_ref() == Some(reference)
            });
            let detail = if declared {
                format!(
                    "bulkId {reference:?} was not created: its POST failed, or is on a circular \
                     reference (RFC 7644 §3.7.1)"
                )
            } else {
                format!("bulkId {reference:?} is not the bulkId of any POST of this request")
            };
            return Err(Failure::Operation(conflict(detail)));
        }
        let Some((ep, id)) = &op.target else {
            return Err(Failure::Operation(ErrorResponse::new(500, None, None)));
        };
        let ep: &Endpoint = ep;
        let registry = self.state.registry();
        let config = self.state.config();
        let org = self.org;
        let writer = Writer {
            org,
            token: &self.token,
            hashing: Hashing {
                prehashed: &self.prehashed,
                verifier: self.state.verifier(),
                org,
            },
            limits: ep.limits(config),
            endpoints: self.state.endpoints(),
        };
        let location = url_under(&self.base, &[ep.path, id]);
        let attempt = |conn: &mut DbConnection| {
            let rt = ep.resource_type(registry)?;
            match action {
                Action::Create(plan) => {
                    let record = plan.write(
                        conn,
                        ep,
                        self.state.endpoints(),
                        org,
                        rt,
                        id.clone(),
                        &self.token,
                    )?;
                    Ok(Outcome {
                        status: 201,
                        version: Some(record.version),
                        error: None,
                    })
                }
                Action::Write { plan, expected } => {
                    let record =
                        resources::write(conn, ep, rt, plan, id, *expected, &location, &writer)?;
                    Ok(Outcome {
                        status: 200,
                        version: Some(record.version),
                        error: None,
                    })
                }
                Action::Delete { expected } => {
                    resources::remove(
                        conn,
                        ep,
                        org,
                        id,
                        config.delete_mode,
                        *expected,
                        &self.token,
                    )?;
                    Ok(Outcome {
                        status: 204,
                        version: None,
                        error: None,
                    })
                }
            }
        };
        // A delete is one store call, already atomic (the store makes its own savepoint inside
        // a transaction); a second savepoint around it would only cost two more round trips.
        // A create writes without one (`CreatePlan::write`), so it gets this one.
        let one_write = matches!(action, Action::Delete { .. });
        let result = if one_write {
            attempt(conn)
        } else {
            scim_store::savepoint(conn, attempt)
        };
        result.map_err(|error: ApiError| {
            if error.status().is_server_error() {
                Failure::Database(error)
            } else {
                Failure::Operation(error.error_object())
            }
        })
    }
}

/// Why an operation did not happen.
enum Failure {
    /// The operation's own: answered in its result; the others go on.
    Operation(ErrorResponse),
    /// The database's: the chunk's transaction ends.
    Database(ApiError),
}

/// The results of the attempted operations, in request order (RFC 7644 §3.7.3).
fn respond_in_order(
    planned: &[Planned],
    outcomes: &HashMap<usize, Outcome>,
    base: &str,
) -> Vec<BulkOperationResponse> {
    planned
        .iter()
        .enumerate()
        .filter_map(|(index, op)| {
            let outcome = outcomes.get(&index)?;
            // §3.7.3: every result has a location but a failed POST's.
            let failed_post = op.method == BulkMethod::Post && outcome.error.is_some();
            let location = match (&op.target, failed_post) {
                (Some((ep, id)), false) => Some(url_under(base, &[ep.path, id])),
                _ => None,
            };
            Some(BulkOperationResponse {
                location,
                method: op.method,
                bulk_id: op.bulk_id.clone(),
                version: outcome.version.map(etag),
                status: outcome.status,
                response: outcome
                    .error
                    .as_ref()
                    .and_then(|error| serde_json::to_value(error).ok()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: BulkMethod, bulk_id: Option<&str>, references: &[&str]) -> Planned {
        Planned {
            method,
            bulk_id: bulk_id.map(str::to_owned),
            references: references.iter().map(|r| (*r).to_owned()).collect(),
            target: None,
            action: Err(ErrorResponse::new(400, None, None)),
        }
    }

    // RFC 7644 §3.7.2: a forward reference runs after the POST it names; the rest keep
    // request order.
    #[test]
    fn forward_references_run_after_their_post() {
        let planned = vec![
            op(BulkMethod::Post, Some("g"), &["u"]),
            op(BulkMethod::Delete, None, &[]),
            op(BulkMethod::Post, Some("u"), &[]),
        ];
        assert_eq!(execution_order(&planned), [1, 2, 0]);
    }

    // RFC 7644 §3.7.1: a cycle, and what depends on it, never becomes ready; it comes last
    // and never loops.
    #[test]
    fn cycles_come_last() {
        let planned = vec![
            op(BulkMethod::Post, Some("a"), &["b"]),
            op(BulkMethod::Post, Some("b"), &["a"]),
            op(BulkMethod::Patch, None, &["a"]),
            op(BulkMethod::Post, Some("c"), &["c"]),
            op(BulkMethod::Post, Some("d"), &["unknown"]),
        ];
        assert_eq!(execution_order(&planned), [4, 0, 1, 2, 3]);
    }

    #[test]
    fn references_are_resolved_at_any_depth() {
        let ids = HashMap::from([("u".to_owned(), "id-u".to_owned())]);
        let mut references = BTreeSet::new();
        let mut value = serde_json::json!({
            "members": [{"value": "bulkId:u"}, {"value": "bulkId:x"}],
            "manager": {"value": "bulkId:u"},
            "other": "bulkIdnot"
        });
        resolve_value(&mut value, &ids, &mut references);
        assert_eq!(value["members"][0]["value"], "id-u");
        assert_eq!(value["members"][1]["value"], "bulkId:x");
        assert_eq!(value["manager"]["value"], "id-u");
        assert_eq!(value["other"], "bulkIdnot");
        assert_eq!(references.into_iter().collect::<Vec<_>>(), ["u", "x"]);
        assert_eq!(split_path("/Groups/bulkId:g"), ("Groups", Some("bulkId:g")));
        assert_eq!(split_path("Users"), ("Users", None));
    }
}
