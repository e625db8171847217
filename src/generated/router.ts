import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Router as _envoy_extensions_filters_http_router_v3_Router, Router__Output as _envoy_extensions_filters_http_router_v3_Router__Output } from './envoy/extensions/filters/http/router/v3/Router.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  envoy: {
    extensions: {
      filters: {
        http: {
          router: {
            v3: {
              Router: MessageTypeDefinition<_envoy_extensions_filters_http_router_v3_Router, _envoy_extensions_filters_http_router_v3_Router__Output>
            }
          }
        }
      }
    }
  }
}

