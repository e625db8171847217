// Original file: protos/lookaside/v1/registry.proto


export interface ListServicesRequest {
}

export interface ListServicesRequest__Output {
}
