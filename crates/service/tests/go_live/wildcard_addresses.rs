//! Every production address of a site goes live with it: a wildcard `*.notes.test` (one
//! label per account) and a second name `www.notes.test` answer what the public address
//! answers, while the candidate address stays the candidate's.

use crate::request;
use crate::support::{sample_site, Fixture};
use switchyard_api::AddressDraft;
use switchyard_service::Caller;

#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_production_address_serves_every_account_from_go_live_on() {
    let f = Fixture::start().await;
    let me = Caller::system();
    let detail = f.service.site(&me, f.site_id).await.unwrap();
    let production = detail.environments[0].id;
    for value in ["*.notes.test", "www.notes.test"] {
        let address = AddressDraft { value: value.into(), environment_id: Some(production) };
        f.service.create_address(&me, f.site_id, address).await.unwrap();
    }
    let v1 = f.upload("notes-1.0.0.tar.gz", sample_site("1.0.0", "")).await;
    f.service.go_live(&me, f.site_id, request(&v1)).await.unwrap();

    for host in ["notes.test", "bob.notes.test", "carol.notes.test", "www.notes.test"] {
        assert_eq!(f.version_at(host).await, "1.0.0", "{host} does not serve production\n{}", f.log());
    }
    // As the host's route table has them (so a release's swap trades them with the rest).
    let table = serde_json::to_value(f.client().routes().await.unwrap()).unwrap();
    let addresses = &table["sites"]["notes"]["addresses"];
    assert_eq!(addresses["*.notes.test"]["environment"], "notes-blue", "{addresses}");
    assert_eq!(addresses["candidate.notes.test"]["environment"], "notes-green", "{addresses}");
}
