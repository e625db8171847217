// Original file: protos/lookaside/v1/common.proto

export const ServingState = {
  SERVING_STATE_UNSPECIFIED: 'SERVING_STATE_UNSPECIFIED',
  SERVING: 'SERVING',
  NOT_SERVING: 'NOT_SERVING',
  DRAINING: 'DRAINING',
} as const;

export type ServingState =
  | 'SERVING_STATE_UNSPECIFIED'
  | 0
  | 'SERVING'
  | 1
  | 'NOT_SERVING'
  | 2
  | 'DRAINING'
  | 3

export type ServingState__Output = typeof ServingState[keyof typeof ServingState]
