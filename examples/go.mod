module github.com/fengdu-county/casework/examples

go 1.26.0

require (
	github.com/fengdu-county/casework/api v0.1.0
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261104224025-d1e00e9f33ab
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go v1.36.12-20260825204119-511051f7f437.2 // indirect
	cloud.google.com/go/longrunning v1.4.0 // indirect
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.33.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261110000943-09e21b237f2c // indirect
)

// The examples build against this checkout's api module. A county system
// outside this repository requires a released version instead
// (`go get github.com/fengdu-county/casework/api@v0.1.0`); the release test
// (e2e/release_test.go) builds these examples that way, with no replace.
replace github.com/fengdu-county/casework/api => ../api
