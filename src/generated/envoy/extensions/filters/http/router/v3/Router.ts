// Original file: protos/envoy/extensions/filters/http/router/v3/router.proto


export interface Router {
}

export interface Router__Output {
}
