// Generated from maglev.proto by proto/codegen (`make proto`). Do not edit.
// @generated

#![allow(unknown_lints)]
#![allow(clippy::all)]
#![allow(dead_code)]
#![allow(missing_docs)]
#![allow(unused_imports)]

const METHOD_MAGLEV_LIST_FRONTENDS: ::grpcio::Method<
    super::maglev::ListFrontendsRequest,
    super::maglev::ListFrontendsResponse,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/ListFrontends",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_GET_FRONTEND: ::grpcio::Method<
    super::maglev::GetFrontendRequest,
    super::maglev::FrontendInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/GetFrontend",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_LIST_BACKENDS: ::grpcio::Method<
    super::maglev::ListBackendsRequest,
    super::maglev::ListBackendsResponse,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/ListBackends",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_GET_BACKEND: ::grpcio::Method<
    super::maglev::GetBackendRequest,
    super::maglev::BackendInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/GetBackend",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_LIST_HEALTH_CHECKS: ::grpcio::Method<
    super::maglev::ListHealthChecksRequest,
    super::maglev::ListHealthChecksResponse,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/ListHealthChecks",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_GET_HEALTH_CHECK: ::grpcio::Method<
    super::maglev::GetHealthCheckRequest,
    super::maglev::HealthCheckInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/GetHealthCheck",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_PAUSE_BACKEND: ::grpcio::Method<
    super::maglev::BackendActionRequest,
    super::maglev::BackendInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/PauseBackend",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_RESUME_BACKEND: ::grpcio::Method<
    super::maglev::BackendActionRequest,
    super::maglev::BackendInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/ResumeBackend",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_ENABLE_BACKEND: ::grpcio::Method<
    super::maglev::BackendActionRequest,
    super::maglev::BackendInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/EnableBackend",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_DISABLE_BACKEND: ::grpcio::Method<
    super::maglev::BackendActionRequest,
    super::maglev::BackendInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/DisableBackend",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_SET_FRONTEND_POOL_BACKEND_WEIGHT: ::grpcio::Method<
    super::maglev::SetFrontendPoolBackendWeightRequest,
    super::maglev::FrontendInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/SetFrontendPoolBackendWeight",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_WATCH_EVENTS: ::grpcio::Method<super::maglev::WatchEventsRequest, super::maglev::Event> =
    ::grpcio::Method {
        ty: ::grpcio::MethodType::ServerStreaming,
        name: "/maglev.Maglev/WatchEvents",
        req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
        resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    };

const METHOD_MAGLEV_CHECK_CONFIG: ::grpcio::Method<
    super::maglev::CheckConfigRequest,
    super::maglev::CheckConfigResponse,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/CheckConfig",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_RELOAD_CONFIG: ::grpcio::Method<
    super::maglev::ReloadConfigRequest,
    super::maglev::ReloadConfigResponse,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/ReloadConfig",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_GET_VERSION: ::grpcio::Method<
    super::maglev::GetVersionRequest,
    super::maglev::VersionInfo,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/GetVersion",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_GET_VPP_INFO: ::grpcio::Method<super::maglev::GetVPPInfoRequest, super::maglev::VPPInfo> =
    ::grpcio::Method {
        ty: ::grpcio::MethodType::Unary,
        name: "/maglev.Maglev/GetVPPInfo",
        req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
        resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    };

const METHOD_MAGLEV_GET_VPPLB_STATE: ::grpcio::Method<
    super::maglev::GetVPPLBStateRequest,
    super::maglev::VPPLBState,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/GetVPPLBState",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_SYNC_VPPLB_STATE: ::grpcio::Method<
    super::maglev::SyncVPPLBStateRequest,
    super::maglev::SyncVPPLBStateResponse,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/SyncVPPLBState",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

const METHOD_MAGLEV_GET_VPPLB_COUNTERS: ::grpcio::Method<
    super::maglev::GetVPPLBCountersRequest,
    super::maglev::VPPLBCounters,
> = ::grpcio::Method {
    ty: ::grpcio::MethodType::Unary,
    name: "/maglev.Maglev/GetVPPLBCounters",
    req_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
    resp_mar: ::grpcio::Marshaller { ser: ::grpcio::pb_ser, de: ::grpcio::pb_de },
};

#[derive(Clone)]
pub struct MaglevClient {
    pub client: ::grpcio::Client,
}

impl MaglevClient {
    pub fn new(channel: ::grpcio::Channel) -> Self {
        MaglevClient { client: ::grpcio::Client::new(channel) }
    }

    pub fn list_frontends_opt(
        &self,
        req: &super::maglev::ListFrontendsRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::ListFrontendsResponse> {
        self.client.unary_call(&METHOD_MAGLEV_LIST_FRONTENDS, req, opt)
    }

    pub fn list_frontends(
        &self,
        req: &super::maglev::ListFrontendsRequest,
    ) -> ::grpcio::Result<super::maglev::ListFrontendsResponse> {
        self.list_frontends_opt(req, ::grpcio::CallOption::default())
    }

    pub fn list_frontends_async_opt(
        &self,
        req: &super::maglev::ListFrontendsRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ListFrontendsResponse>> {
        self.client.unary_call_async(&METHOD_MAGLEV_LIST_FRONTENDS, req, opt)
    }

    pub fn list_frontends_async(
        &self,
        req: &super::maglev::ListFrontendsRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ListFrontendsResponse>> {
        self.list_frontends_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_frontend_opt(
        &self,
        req: &super::maglev::GetFrontendRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::FrontendInfo> {
        self.client.unary_call(&METHOD_MAGLEV_GET_FRONTEND, req, opt)
    }

    pub fn get_frontend(
        &self,
        req: &super::maglev::GetFrontendRequest,
    ) -> ::grpcio::Result<super::maglev::FrontendInfo> {
        self.get_frontend_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_frontend_async_opt(
        &self,
        req: &super::maglev::GetFrontendRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::FrontendInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_GET_FRONTEND, req, opt)
    }

    pub fn get_frontend_async(
        &self,
        req: &super::maglev::GetFrontendRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::FrontendInfo>> {
        self.get_frontend_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn list_backends_opt(
        &self,
        req: &super::maglev::ListBackendsRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::ListBackendsResponse> {
        self.client.unary_call(&METHOD_MAGLEV_LIST_BACKENDS, req, opt)
    }

    pub fn list_backends(
        &self,
        req: &super::maglev::ListBackendsRequest,
    ) -> ::grpcio::Result<super::maglev::ListBackendsResponse> {
        self.list_backends_opt(req, ::grpcio::CallOption::default())
    }

    pub fn list_backends_async_opt(
        &self,
        req: &super::maglev::ListBackendsRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ListBackendsResponse>> {
        self.client.unary_call_async(&METHOD_MAGLEV_LIST_BACKENDS, req, opt)
    }

    pub fn list_backends_async(
        &self,
        req: &super::maglev::ListBackendsRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ListBackendsResponse>> {
        self.list_backends_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_backend_opt(
        &self,
        req: &super::maglev::GetBackendRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.client.unary_call(&METHOD_MAGLEV_GET_BACKEND, req, opt)
    }

    pub fn get_backend(
        &self,
        req: &super::maglev::GetBackendRequest,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.get_backend_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_backend_async_opt(
        &self,
        req: &super::maglev::GetBackendRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_GET_BACKEND, req, opt)
    }

    pub fn get_backend_async(
        &self,
        req: &super::maglev::GetBackendRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.get_backend_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn list_health_checks_opt(
        &self,
        req: &super::maglev::ListHealthChecksRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::ListHealthChecksResponse> {
        self.client.unary_call(&METHOD_MAGLEV_LIST_HEALTH_CHECKS, req, opt)
    }

    pub fn list_health_checks(
        &self,
        req: &super::maglev::ListHealthChecksRequest,
    ) -> ::grpcio::Result<super::maglev::ListHealthChecksResponse> {
        self.list_health_checks_opt(req, ::grpcio::CallOption::default())
    }

    pub fn list_health_checks_async_opt(
        &self,
        req: &super::maglev::ListHealthChecksRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ListHealthChecksResponse>> {
        self.client.unary_call_async(&METHOD_MAGLEV_LIST_HEALTH_CHECKS, req, opt)
    }

    pub fn list_health_checks_async(
        &self,
        req: &super::maglev::ListHealthChecksRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ListHealthChecksResponse>> {
        self.list_health_checks_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_health_check_opt(
        &self,
        req: &super::maglev::GetHealthCheckRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::HealthCheckInfo> {
        self.client.unary_call(&METHOD_MAGLEV_GET_HEALTH_CHECK, req, opt)
    }

    pub fn get_health_check(
        &self,
        req: &super::maglev::GetHealthCheckRequest,
    ) -> ::grpcio::Result<super::maglev::HealthCheckInfo> {
        self.get_health_check_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_health_check_async_opt(
        &self,
        req: &super::maglev::GetHealthCheckRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::HealthCheckInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_GET_HEALTH_CHECK, req, opt)
    }

    pub fn get_health_check_async(
        &self,
        req: &super::maglev::GetHealthCheckRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::HealthCheckInfo>> {
        self.get_health_check_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn pause_backend_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.client.unary_call(&METHOD_MAGLEV_PAUSE_BACKEND, req, opt)
    }

    pub fn pause_backend(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.pause_backend_opt(req, ::grpcio::CallOption::default())
    }

    pub fn pause_backend_async_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_PAUSE_BACKEND, req, opt)
    }

    pub fn pause_backend_async(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.pause_backend_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn resume_backend_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.client.unary_call(&METHOD_MAGLEV_RESUME_BACKEND, req, opt)
    }

    pub fn resume_backend(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.resume_backend_opt(req, ::grpcio::CallOption::default())
    }

    pub fn resume_backend_async_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_RESUME_BACKEND, req, opt)
    }

    pub fn resume_backend_async(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.resume_backend_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn enable_backend_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.client.unary_call(&METHOD_MAGLEV_ENABLE_BACKEND, req, opt)
    }

    pub fn enable_backend(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.enable_backend_opt(req, ::grpcio::CallOption::default())
    }

    pub fn enable_backend_async_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_ENABLE_BACKEND, req, opt)
    }

    pub fn enable_backend_async(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.enable_backend_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn disable_backend_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.client.unary_call(&METHOD_MAGLEV_DISABLE_BACKEND, req, opt)
    }

    pub fn disable_backend(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<super::maglev::BackendInfo> {
        self.disable_backend_opt(req, ::grpcio::CallOption::default())
    }

    pub fn disable_backend_async_opt(
        &self,
        req: &super::maglev::BackendActionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_DISABLE_BACKEND, req, opt)
    }

    pub fn disable_backend_async(
        &self,
        req: &super::maglev::BackendActionRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::BackendInfo>> {
        self.disable_backend_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn set_frontend_pool_backend_weight_opt(
        &self,
        req: &super::maglev::SetFrontendPoolBackendWeightRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::FrontendInfo> {
        self.client.unary_call(&METHOD_MAGLEV_SET_FRONTEND_POOL_BACKEND_WEIGHT, req, opt)
    }

    pub fn set_frontend_pool_backend_weight(
        &self,
        req: &super::maglev::SetFrontendPoolBackendWeightRequest,
    ) -> ::grpcio::Result<super::maglev::FrontendInfo> {
        self.set_frontend_pool_backend_weight_opt(req, ::grpcio::CallOption::default())
    }

    pub fn set_frontend_pool_backend_weight_async_opt(
        &self,
        req: &super::maglev::SetFrontendPoolBackendWeightRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::FrontendInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_SET_FRONTEND_POOL_BACKEND_WEIGHT, req, opt)
    }

    pub fn set_frontend_pool_backend_weight_async(
        &self,
        req: &super::maglev::SetFrontendPoolBackendWeightRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::FrontendInfo>> {
        self.set_frontend_pool_backend_weight_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn watch_events_opt(
        &self,
        req: &super::maglev::WatchEventsRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientSStreamReceiver<super::maglev::Event>> {
        self.client.server_streaming(&METHOD_MAGLEV_WATCH_EVENTS, req, opt)
    }

    pub fn watch_events(
        &self,
        req: &super::maglev::WatchEventsRequest,
    ) -> ::grpcio::Result<::grpcio::ClientSStreamReceiver<super::maglev::Event>> {
        self.watch_events_opt(req, ::grpcio::CallOption::default())
    }

    pub fn check_config_opt(
        &self,
        req: &super::maglev::CheckConfigRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::CheckConfigResponse> {
        self.client.unary_call(&METHOD_MAGLEV_CHECK_CONFIG, req, opt)
    }

    pub fn check_config(
        &self,
        req: &super::maglev::CheckConfigRequest,
    ) -> ::grpcio::Result<super::maglev::CheckConfigResponse> {
        self.check_config_opt(req, ::grpcio::CallOption::default())
    }

    pub fn check_config_async_opt(
        &self,
        req: &super::maglev::CheckConfigRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::CheckConfigResponse>> {
        self.client.unary_call_async(&METHOD_MAGLEV_CHECK_CONFIG, req, opt)
    }

    pub fn check_config_async(
        &self,
        req: &super::maglev::CheckConfigRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::CheckConfigResponse>> {
        self.check_config_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn reload_config_opt(
        &self,
        req: &super::maglev::ReloadConfigRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::ReloadConfigResponse> {
        self.client.unary_call(&METHOD_MAGLEV_RELOAD_CONFIG, req, opt)
    }

    pub fn reload_config(
        &self,
        req: &super::maglev::ReloadConfigRequest,
    ) -> ::grpcio::Result<super::maglev::ReloadConfigResponse> {
        self.reload_config_opt(req, ::grpcio::CallOption::default())
    }

    pub fn reload_config_async_opt(
        &self,
        req: &super::maglev::ReloadConfigRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ReloadConfigResponse>> {
        self.client.unary_call_async(&METHOD_MAGLEV_RELOAD_CONFIG, req, opt)
    }

    pub fn reload_config_async(
        &self,
        req: &super::maglev::ReloadConfigRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::ReloadConfigResponse>> {
        self.reload_config_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_version_opt(
        &self,
        req: &super::maglev::GetVersionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::VersionInfo> {
        self.client.unary_call(&METHOD_MAGLEV_GET_VERSION, req, opt)
    }

    pub fn get_version(
        &self,
        req: &super::maglev::GetVersionRequest,
    ) -> ::grpcio::Result<super::maglev::VersionInfo> {
        self.get_version_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_version_async_opt(
        &self,
        req: &super::maglev::GetVersionRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VersionInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_GET_VERSION, req, opt)
    }

    pub fn get_version_async(
        &self,
        req: &super::maglev::GetVersionRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VersionInfo>> {
        self.get_version_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_vpp_info_opt(
        &self,
        req: &super::maglev::GetVPPInfoRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::VPPInfo> {
        self.client.unary_call(&METHOD_MAGLEV_GET_VPP_INFO, req, opt)
    }

    pub fn get_vpp_info(
        &self,
        req: &super::maglev::GetVPPInfoRequest,
    ) -> ::grpcio::Result<super::maglev::VPPInfo> {
        self.get_vpp_info_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_vpp_info_async_opt(
        &self,
        req: &super::maglev::GetVPPInfoRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VPPInfo>> {
        self.client.unary_call_async(&METHOD_MAGLEV_GET_VPP_INFO, req, opt)
    }

    pub fn get_vpp_info_async(
        &self,
        req: &super::maglev::GetVPPInfoRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VPPInfo>> {
        self.get_vpp_info_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_vpplb_state_opt(
        &self,
        req: &super::maglev::GetVPPLBStateRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::VPPLBState> {
        self.client.unary_call(&METHOD_MAGLEV_GET_VPPLB_STATE, req, opt)
    }

    pub fn get_vpplb_state(
        &self,
        req: &super::maglev::GetVPPLBStateRequest,
    ) -> ::grpcio::Result<super::maglev::VPPLBState> {
        self.get_vpplb_state_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_vpplb_state_async_opt(
        &self,
        req: &super::maglev::GetVPPLBStateRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VPPLBState>> {
        self.client.unary_call_async(&METHOD_MAGLEV_GET_VPPLB_STATE, req, opt)
    }

    pub fn get_vpplb_state_async(
        &self,
        req: &super::maglev::GetVPPLBStateRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VPPLBState>> {
        self.get_vpplb_state_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn sync_vpplb_state_opt(
        &self,
        req: &super::maglev::SyncVPPLBStateRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::SyncVPPLBStateResponse> {
        self.client.unary_call(&METHOD_MAGLEV_SYNC_VPPLB_STATE, req, opt)
    }

    pub fn sync_vpplb_state(
        &self,
        req: &super::maglev::SyncVPPLBStateRequest,
    ) -> ::grpcio::Result<super::maglev::SyncVPPLBStateResponse> {
        self.sync_vpplb_state_opt(req, ::grpcio::CallOption::default())
    }

    pub fn sync_vpplb_state_async_opt(
        &self,
        req: &super::maglev::SyncVPPLBStateRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::SyncVPPLBStateResponse>> {
        self.client.unary_call_async(&METHOD_MAGLEV_SYNC_VPPLB_STATE, req, opt)
    }

    pub fn sync_vpplb_state_async(
        &self,
        req: &super::maglev::SyncVPPLBStateRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::SyncVPPLBStateResponse>> {
        self.sync_vpplb_state_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_vpplb_counters_opt(
        &self,
        req: &super::maglev::GetVPPLBCountersRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<super::maglev::VPPLBCounters> {
        self.client.unary_call(&METHOD_MAGLEV_GET_VPPLB_COUNTERS, req, opt)
    }

    pub fn get_vpplb_counters(
        &self,
        req: &super::maglev::GetVPPLBCountersRequest,
    ) -> ::grpcio::Result<super::maglev::VPPLBCounters> {
        self.get_vpplb_counters_opt(req, ::grpcio::CallOption::default())
    }

    pub fn get_vpplb_counters_async_opt(
        &self,
        req: &super::maglev::GetVPPLBCountersRequest,
        opt: ::grpcio::CallOption,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VPPLBCounters>> {
        self.client.unary_call_async(&METHOD_MAGLEV_GET_VPPLB_COUNTERS, req, opt)
    }

    pub fn get_vpplb_counters_async(
        &self,
        req: &super::maglev::GetVPPLBCountersRequest,
    ) -> ::grpcio::Result<::grpcio::ClientUnaryReceiver<super::maglev::VPPLBCounters>> {
        self.get_vpplb_counters_async_opt(req, ::grpcio::CallOption::default())
    }

    pub fn spawn<F>(&self, f: F)
    where
        F: ::std::future::Future<Output = ()> + Send + 'static,
    {
        self.client.spawn(f)
    }
}

pub trait Maglev {
    fn list_frontends(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::ListFrontendsRequest,
        sink: ::grpcio::UnarySink<super::maglev::ListFrontendsResponse>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn get_frontend(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::GetFrontendRequest,
        sink: ::grpcio::UnarySink<super::maglev::FrontendInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn list_backends(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::ListBackendsRequest,
        sink: ::grpcio::UnarySink<super::maglev::ListBackendsResponse>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn get_backend(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::GetBackendRequest,
        sink: ::grpcio::UnarySink<super::maglev::BackendInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn list_health_checks(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::ListHealthChecksRequest,
        sink: ::grpcio::UnarySink<super::maglev::ListHealthChecksResponse>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn get_health_check(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::GetHealthCheckRequest,
        sink: ::grpcio::UnarySink<super::maglev::HealthCheckInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn pause_backend(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::BackendActionRequest,
        sink: ::grpcio::UnarySink<super::maglev::BackendInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn resume_backend(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::BackendActionRequest,
        sink: ::grpcio::UnarySink<super::maglev::BackendInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn enable_backend(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::BackendActionRequest,
        sink: ::grpcio::UnarySink<super::maglev::BackendInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn disable_backend(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::BackendActionRequest,
        sink: ::grpcio::UnarySink<super::maglev::BackendInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn set_frontend_pool_backend_weight(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::SetFrontendPoolBackendWeightRequest,
        sink: ::grpcio::UnarySink<super::maglev::FrontendInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn watch_events(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::WatchEventsRequest,
        sink: ::grpcio::ServerStreamingSink<super::maglev::Event>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn check_config(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::CheckConfigRequest,
        sink: ::grpcio::UnarySink<super::maglev::CheckConfigResponse>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn reload_config(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::ReloadConfigRequest,
        sink: ::grpcio::UnarySink<super::maglev::ReloadConfigResponse>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn get_version(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::GetVersionRequest,
        sink: ::grpcio::UnarySink<super::maglev::VersionInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn get_vpp_info(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::GetVPPInfoRequest,
        sink: ::grpcio::UnarySink<super::maglev::VPPInfo>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn get_vpplb_state(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::GetVPPLBStateRequest,
        sink: ::grpcio::UnarySink<super::maglev::VPPLBState>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn sync_vpplb_state(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::SyncVPPLBStateRequest,
        sink: ::grpcio::UnarySink<super::maglev::SyncVPPLBStateResponse>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
    fn get_vpplb_counters(
        &mut self,
        ctx: ::grpcio::RpcContext,
        _req: super::maglev::GetVPPLBCountersRequest,
        sink: ::grpcio::UnarySink<super::maglev::VPPLBCounters>,
    ) {
        grpcio::unimplemented_call!(ctx, sink)
    }
}

pub fn create_maglev<S: Maglev + Send + Clone + 'static>(s: S) -> ::grpcio::Service {
    let mut builder = ::grpcio::ServiceBuilder::new();
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_LIST_FRONTENDS, move |ctx, req, resp| {
        instance.list_frontends(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_GET_FRONTEND, move |ctx, req, resp| {
        instance.get_frontend(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_LIST_BACKENDS, move |ctx, req, resp| {
        instance.list_backends(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_GET_BACKEND, move |ctx, req, resp| {
        instance.get_backend(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_LIST_HEALTH_CHECKS, move |ctx, req, resp| {
        instance.list_health_checks(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_GET_HEALTH_CHECK, move |ctx, req, resp| {
        instance.get_health_check(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_PAUSE_BACKEND, move |ctx, req, resp| {
        instance.pause_backend(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_RESUME_BACKEND, move |ctx, req, resp| {
        instance.resume_backend(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_ENABLE_BACKEND, move |ctx, req, resp| {
        instance.enable_backend(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_DISABLE_BACKEND, move |ctx, req, resp| {
        instance.disable_backend(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder
        .add_unary_handler(&METHOD_MAGLEV_SET_FRONTEND_POOL_BACKEND_WEIGHT, move |ctx, req, resp| {
            instance.set_frontend_pool_backend_weight(ctx, req, resp)
        });
    let mut instance = s.clone();
    builder = builder.add_server_streaming_handler(&METHOD_MAGLEV_WATCH_EVENTS, move |ctx, req, resp| {
        instance.watch_events(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_CHECK_CONFIG, move |ctx, req, resp| {
        instance.check_config(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_RELOAD_CONFIG, move |ctx, req, resp| {
        instance.reload_config(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_GET_VERSION, move |ctx, req, resp| {
        instance.get_version(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_GET_VPP_INFO, move |ctx, req, resp| {
        instance.get_vpp_info(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_GET_VPPLB_STATE, move |ctx, req, resp| {
        instance.get_vpplb_state(ctx, req, resp)
    });
    let mut instance = s.clone();
    builder = builder.add_unary_handler(&METHOD_MAGLEV_SYNC_VPPLB_STATE, move |ctx, req, resp| {
        instance.sync_vpplb_state(ctx, req, resp)
    });
    let mut instance = s;
    builder = builder.add_unary_handler(&METHOD_MAGLEV_GET_VPPLB_COUNTERS, move |ctx, req, resp| {
        instance.get_vpplb_counters(ctx, req, resp)
    });
    builder.build()
}
