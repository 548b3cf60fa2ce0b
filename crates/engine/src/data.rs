//! A site's data during a release: the database snapshot taken before a migration and its
//! restore. A site whose environments keep their data on an agent data volume (one database
//! that both versions of a blue-green or rollout release serve from) is snapshotted on that
//! volume under the release's uid; a site without one is snapshotted as a stopped clone of
//! the environment (`<site>-snapshot`) that the agent syncs back.

use switchyard_agent::api::{SyncEnv, VolumeSnapshot};
use switchyard_agent::AgentError;
use switchyard_core::workflow::Env;
use switchyard_router::api::SetHold;
use switchyard_router::Hold;

use crate::error::Result;
use crate::execute::{call, clone_replacing, Host, Outcome};

/// The data volume `env` serves from, if any; `None` also for an environment that is gone.
async fn volume_of(t: &Host<'_>, env: &str) -> Result<std::result::Result<Option<String>, AgentError>> {
    Ok(match call(t, "read an environment", || t.agent.env(env)).await? {
        Ok(info) => Ok(info.config.volume),
        Err(AgentError::Remote { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    })
}

macro_rules! answer {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(error) => return Ok(Err(error.to_string())),
        }
    };
}

pub(crate) async fn snapshot(t: &Host<'_>, op: &str, env: Env) -> Result<Outcome> {
    let name = t.placement.env(env);
    if let Some(volume) = answer!(volume_of(t, name).await?) {
        let req = VolumeSnapshot { op_id: format!("{op}.snapshot"), snapshot: t.release_uid.to_owned() };
        let report = answer!(call(t, "snapshot the data volume", || t.agent.snapshot_volume(&volume, &req)).await?);
        return Ok(Ok(format!("snapshot {} of volume {volume} ({})", report.snapshot, report.databases.join(", "))));
    }
    // A stopped clone is a consistent copy of the data (taken with the online backup API)
    // that the agent can sync back.
    answer!(clone_replacing(t, op, name, &t.placement.snapshot_env, None, false).await?);
    Ok(Ok(format!("snapshot of {name} in {}", t.placement.snapshot_env)))
}

/// Restores the snapshot and starts `env` on it. On a volume every environment using it is
/// stopped first (the other one of a shared pair stays stopped: it ran the release being
/// rolled back, and the workflow discards it next), with requests held meanwhile so the
/// public address answers late instead of failing.
pub(crate) async fn restore(t: &Host<'_>, op: &str, env: Env) -> Result<Outcome> {
    let (agent, p) = (t.agent, t.placement);
    let name = p.env(env);
    let part = |what: &str| format!("{op}.{what}");
    let Some(volume) = answer!(volume_of(t, name).await?) else {
        answer!({
            let id = part("stop");
            call(t, "stop the site", || agent.stop(name, &id)).await?
        });
        let req = SyncEnv { op_id: part("sync"), from: p.snapshot_env.clone() };
        answer!(call(t, "restore the snapshot", || agent.sync_env(name, &req)).await?);
        answer!({
            let id = part("start");
            call(t, "start the site", || agent.start(name, &id)).await?
        });
        return Ok(Ok(format!("restored {name} from {}", p.snapshot_env)));
    };
    let hold = |on: bool, id: String| {
        let change = SetHold { site: p.site.clone(), hold: on.then_some(Hold { timeout_ms: t.config.hold_timeout.as_millis() as u64 }) };
        async move { call(t, "hold requests", || agent.hold(&id, change.clone())).await }
    };
    answer!(hold(true, part("hold")).await?);
    for other in [&p.production_env, &p.candidate_env] {
        if answer!(volume_of(t, other).await?).as_deref() == Some(volume.as_str()) {
            let id = part(&format!("stop-{other}"));
            answer!(call(t, "stop a site on the volume", || agent.stop(other, &id)).await?);
        }
    }
    let req = VolumeSnapshot { op_id: part("restore"), snapshot: t.release_uid.to_owned() };
    answer!(call(t, "restore the data volume", || agent.restore_volume(&volume, &req)).await?);
    answer!({
        let id = part("start");
        call(t, "start the site", || agent.start(name, &id)).await?
    });
    answer!(hold(false, part("release")).await?);
    Ok(Ok(format!("restored volume {volume} from snapshot {}; {name} runs on it", t.release_uid)))
}
