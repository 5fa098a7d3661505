//! Runs a parsed command against maglevd and renders its answer.

use std::io::Write;

use maglev_proto::maglev as pb;

use crate::client::{CallError, Client};
use crate::format::{self, Style};
use crate::tree::{CommandId, Parsed};
use crate::watch;

/// What running a command asks of the caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    Quit,
}

/// Runs `cmd`, writing its output to `out`.
pub fn run(
    client: &Client,
    cmd: &Parsed,
    style: Style,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<Outcome, CallError> {
    let text = match cmd.command {
        CommandId::Quit => return Ok(Outcome::Quit),
        CommandId::WatchEvents => {
            watch::run(client, cmd, interactive, out)?;
            return Ok(Outcome::Continue);
        }
        CommandId::ShowVersion => {
            let v = client
                .api
                .get_version_opt(&pb::GetVersionRequest::new(), client.opt())
                .map_err(|e| client.err(e))?;
            format::version(style, env!("CARGO_PKG_VERSION"), &v)
        }
        CommandId::ShowFrontends => match cmd.get("name") {
            Some(name) => {
                let req = pb::GetFrontendRequest { name: name.to_string(), ..Default::default() };
                let f = client.api.get_frontend_opt(&req, client.opt()).map_err(|e| client.err(e))?;
                format::frontend(style, &f)
            }
            None => {
                let r = client
                    .api
                    .list_frontends_opt(&pb::ListFrontendsRequest::new(), client.opt())
                    .map_err(|e| client.err(e))?;
                format::frontends(style, &r.frontends)
            }
        },
        CommandId::ShowBackends => match cmd.get("name") {
            Some(name) => {
                let req = pb::GetBackendRequest { name: name.to_string(), ..Default::default() };
                let b = client.api.get_backend_opt(&req, client.opt()).map_err(|e| client.err(e))?;
                format::backend(style, &b)
            }
            None => {
                let r = client
                    .api
                    .list_backends_opt(&pb::ListBackendsRequest::new(), client.opt())
                    .map_err(|e| client.err(e))?;
                format::backends(style, &r.backends)
            }
        },
        CommandId::ShowHealthChecks => match cmd.get("name") {
            Some(name) => {
                let req = pb::GetHealthCheckRequest { name: name.to_string(), ..Default::default() };
                let h = client.api.get_health_check_opt(&req, client.opt()).map_err(|e| client.err(e))?;
                format::healthcheck(style, &h)
            }
            None => {
                let r = client
                    .api
                    .list_health_checks_opt(&pb::ListHealthChecksRequest::new(), client.opt())
                    .map_err(|e| client.err(e))?;
                format::healthchecks(style, &r.healthchecks)
            }
        },
        CommandId::ShowVppInfo => {
            let i = client
                .api
                .get_vpp_info_opt(&pb::GetVPPInfoRequest::new(), client.opt())
                .map_err(|e| client.err(e))?;
            format::vpp_info(style, &i)
        }
        CommandId::ShowVppLbState => {
            let s = client
                .api
                .get_vpplb_state_opt(&pb::GetVPPLBStateRequest::new(), client.opt())
                .map_err(|e| client.err(e))?;
            format::vpp_lb_state(style, &s)
        }
        CommandId::ShowVppLbCounters => {
            let c = client
                .api
                .get_vpplb_counters_opt(&pb::GetVPPLBCountersRequest::new(), client.opt())
                .map_err(|e| client.err(e))?;
            format::vpp_counters(style, &c)
        }
        CommandId::SyncVppLbState => {
            let req = pb::SyncVPPLBStateRequest {
                frontend: cmd.get("frontend").unwrap_or("").to_string(),
                ..Default::default()
            };
            let r = client.api.sync_vpplb_state_opt(&req, client.opt()).map_err(|e| client.err(e))?;
            format!(
                "synced: vips added {} removed {}, ases added {} removed {} weight-updated {}\n",
                r.vips_added, r.vips_removed, r.ases_added, r.ases_removed, r.ases_weight_updated
            )
        }
        CommandId::SetBackendPause
        | CommandId::SetBackendResume
        | CommandId::SetBackendEnable
        | CommandId::SetBackendDisable => {
            let req = pb::BackendActionRequest {
                name: cmd.get("name").unwrap_or("").to_string(),
                ..Default::default()
            };
            let (opt, api) = (client.opt(), &client.api);
            let b = match cmd.command {
                CommandId::SetBackendPause => api.pause_backend_opt(&req, opt),
                CommandId::SetBackendResume => api.resume_backend_opt(&req, opt),
                CommandId::SetBackendEnable => api.enable_backend_opt(&req, opt),
                _ => api.disable_backend_opt(&req, opt),
            }
            .map_err(|e| client.err(e))?;
            format!("backend {} is {}\n", b.name, style.state(&b.state))
        }
        CommandId::SetFrontendWeight => {
            let weight = cmd
                .get("weight")
                .and_then(|w| w.parse::<u32>().ok())
                .ok_or_else(|| CallError::new("bad weight: use a number from 0 to 100"))?;
            let req = pb::SetFrontendPoolBackendWeightRequest {
                frontend: cmd.get("frontend").unwrap_or("").to_string(),
                pool: cmd.get("pool").unwrap_or("").to_string(),
                backend: cmd.get("backend").unwrap_or("").to_string(),
                weight,
                flush: cmd.has("flush"),
                ..Default::default()
            };
            let f = client
                .api
                .set_frontend_pool_backend_weight_opt(&req, client.opt())
                .map_err(|e| client.err(e))?;
            format::frontend(style, &f)
        }
        CommandId::ConfigCheck => {
            let r = client
                .api
                .check_config_opt(&pb::CheckConfigRequest::new(), client.opt())
                .map_err(|e| client.err(e))?;
            match r.status.enum_value_or_default() {
                pb::ConfigStatus::CONFIG_OK => format!("{}: ok\n", r.path),
                status => {
                    let kind =
                        if status == pb::ConfigStatus::CONFIG_SEMANTIC_ERROR { "semantic" } else { "parse" };
                    return Err(CallError::new(format!("config {kind} error:\n{}", r.errors.join("\n"))));
                }
            }
        }
        CommandId::ConfigReload => {
            let r = client
                .api
                .reload_config_opt(&pb::ReloadConfigRequest::new(), client.opt())
                .map_err(|e| client.err(e))?;
            format!(
                "reloaded: {} added, {} removed, {} restarted, {} reconfigured, {} unchanged\n",
                r.added.len(),
                r.removed.len(),
                r.restarted.len(),
                r.reconfigured.len(),
                r.unchanged.len()
            )
        }
    };
    out.write_all(text.as_bytes()).map_err(|e| CallError::new(format!("cannot write output: {e}")))?;
    Ok(Outcome::Continue)
}
