//! Requests without the token are refused and logged; a client pinning another certificate
//! refuses to talk to the agent.

use crate::support::TestAgent;
use switchyard_agent::api::ErrorKind;
use switchyard_agent::{AgentClient, AgentError};

#[tokio::test]
async fn a_request_without_a_valid_token_is_refused_and_logged() {
    let agent = TestAgent::start();
    agent.client.agent_info().await.expect("the right token is accepted");

    let wrong = AgentClient::new(&agent.registration.url, "not-the-token", &agent.registration.fingerprint).unwrap();
    match wrong.list_envs().await {
        Err(AgentError::Remote { status: 401, body }) => {
            assert_eq!(body.kind, ErrorKind::Unauthorized);
            assert!(body.message.contains("bearer token"), "{}", body.message);
        }
        other => panic!("expected 401, got {other:?}"),
    }
    // No Authorization header at all, through a client that still pins the certificate.
    let anonymous = AgentClient::new(&agent.registration.url, "", &agent.registration.fingerprint).unwrap();
    assert!(matches!(anonymous.openapi().await, Err(AgentError::Remote { status: 401, .. })));
    assert!(agent.log().contains("refused a request without a valid token"), "log:\n{}", agent.log());
}

#[tokio::test]
async fn a_client_pinning_another_certificate_refuses_the_agent() {
    let agent = TestAgent::start();
    let other = AgentClient::new(&agent.registration.url, &agent.registration.token, &"0".repeat(64)).unwrap();
    let err = other.agent_info().await.unwrap_err();
    let chain = format!("{err:?}");
    assert!(chain.contains("not the registered"), "{chain}");
}

#[tokio::test]
async fn the_agent_serves_an_openapi_document_of_its_endpoints() {
    let agent = TestAgent::start();
    let doc = agent.client.openapi().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/v1/envs", "/v1/envs/{env}/clone", "/v1/artifacts/{sha256}", "/v1/envs/{env}/steps"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the document");
    }
}
