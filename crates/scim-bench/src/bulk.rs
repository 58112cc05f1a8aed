//! `/Bulk` through the real HTTP service (in process, `actix_web::test`): importing 100,000
//! users at 1,000 per request, then adding them to one group in batches of 1,000 members, whose
//! cost must stay flat as the group grows.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App};
use scim_server::scope;
use scim_store::Store;
use serde_json::{json, Value};

/// Users imported.
const USERS: usize = 100_000;
/// Operations per bulk request, and members per batch.
const BATCH: usize = 1_000;

pub(crate) fn run(name: &str, store: &Store) {
    println!("\n# bulk on {name} (HTTP through the service, in process)");
    let result = actix_web::rt::System::new().block_on(bench(store));
    if let Err(error) = result {
        println!("bulk bench failed: {error}");
    }
}

/// Sends a bulk request; returns the results' `location` ids, failing on any status but
/// `expected`.
async fn send<S, B>(
    app: &S,
    bearer: &str,
    operations: Vec<Value>,
    expected: &str,
) -> Result<Vec<String>, String>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations,
    });
    let request = test::TestRequest::post()
        .uri("/scim/v2/Bulk")
        .insert_header(("Authorization", bearer))
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string());
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status().as_u16();
    let bytes = test::read_body(response).await;
    if status != 200 {
        return Err(format!(
            "bulk answered {status}: {:.200}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    let reply: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let results = reply["Operations"].as_array().cloned().unwrap_or_default();
    let mut ids = Vec::with_capacity(results.len());
    for result in results {
        if result["status"] != expected {
            return Err(format!("an operation answered {result}"));
        }
        let id = result["location"]
            .as_str()
            .and_then(|location| location.rsplit('/').next())
            .unwrap_or_default();
        ids.push(id.to_owned());
    }
    Ok(ids)
}

async fn bench(store: &Store) -> Result<(), String> {
    let (state, _org, bearer) = crate::service(store, "bulk")?;
    let app = test::init_service(App::new().service(scope("/scim/v2", state))).await;

    let start = Instant::now();
    let mut users = Vec::with_capacity(USERS);
    for batch in 0..USERS / BATCH {
        let operations = (0..BATCH)
            .map(|i| {
                let n = batch * BATCH + i;
                json!({
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": format!("u{n}"),
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("bulk.user{n}@example.com"),
                        "name": {"givenName": "Bulk", "familyName": format!("User {n}")},
                        "emails": [{"value": format!("bulk.user{n}@example.com"), "type": "work", "primary": true}],
                        "active": true
                    }
                })
            })
            .collect();
        users.extend(send(&app, &bearer, operations, "201").await?);
        // Progress, so that a run cut short still shows a rate, and whether it holds up.
        if (batch + 1) % 10 == 0 {
            println!(
                "  {} users imported, {:.0} users/s so far",
                users.len(),
                users.len() as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = start.elapsed();
    println!(
        "import {USERS} users, {BATCH} POSTs per /Bulk request: {:.1} s, {:.0} users/s",
        elapsed.as_secs_f64(),
        USERS as f64 / elapsed.as_secs_f64()
    );

    let group = send(
        &app,
        &bearer,
        vec![json!({
            "method": "POST", "path": "/Groups", "bulkId": "g",
            "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone"}
        })],
        "201",
    )
    .await?
    .pop()
    .ok_or("no group")?;
    let mut batches: Vec<Duration> = Vec::with_capacity(USERS / BATCH);
    for chunk in users.chunks(BATCH) {
        let members: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let operation = json!({
            "method": "PATCH",
            "path": format!("/Groups/{group}"),
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": members}]
            }
        });
        let start = Instant::now();
        send(&app, &bearer, vec![operation], "200").await?;
        batches.push(start.elapsed());
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    if let (Some(first), Some(last)) = (batches.first(), batches.last()) {
        let mut sorted = batches.clone();
        sorted.sort_unstable();
        println!(
            "add {BATCH} members per /Bulk PATCH to one group, {} batches: first {:.1} ms, \
             last {:.1} ms (group of {}), median {:.1} ms",
            batches.len(),
            ms(first),
            ms(last),
            users.len(),
            ms(&sorted[sorted.len() / 2])
        );
    }
    Ok(())
}
