// A Go client of envelope-gateway: typed stubs generated from proto/, one
// success, and failures told apart by google.rpc.ErrorInfo.reason.
//
//	examples/go/build.sh /tmp/example-go      # stubs + build (GOPATH mode)
//	ENVELOPE_GATEWAY_ADDRESS=127.0.0.1:50051 /tmp/example-go/client
//
// Packages: Debian 12's golang-go, golang-google-grpc-dev,
// golang-google-genproto-dev, golang-github-golang-protobuf-1-5-dev,
// protoc-gen-go and protoc-gen-go-grpc (examples/README.md).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	gatewayv1 "github.com/envelope-gateway/proto/envelope/gateway/v1"
	cvm "github.com/envelope-gateway/proto/tencentcloud/cvm/v20170312"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func main() {
	address := os.Getenv("ENVELOPE_GATEWAY_ADDRESS")
	if address == "" {
		address = "127.0.0.1:50051"
	}
	conn, err := grpc.Dial(address, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	defer conn.Close()
	client := cvm.NewCvmClient(conn)

	// 1. A typed call: the answer is a DescribeZonesResponse.
	var trailer metadata.MD
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	zones, err := client.DescribeZones(ctx, &cvm.DescribeZonesRequest{}, grpc.Trailer(&trailer))
	cancel()
	if err != nil {
		explain("DescribeZones", err)
	} else {
		fmt.Printf("DescribeZones: total_count %d\n", zones.TotalCount)
		for _, z := range zones.ZoneSet {
			fmt.Printf("  zone %s id %s state %s name %s\n", z.Zone, z.ZoneId, z.ZoneState, z.ZoneName)
		}
	}
	printRequestID(trailer)

	// 2. An instance that may not exist.
	trailer = nil
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	instances, err := client.DescribeInstances(ctx,
		&cvm.DescribeInstancesRequest{InstanceIds: []string{"ins-demo0001"}}, grpc.Trailer(&trailer))
	cancel()
	if err != nil {
		explain("DescribeInstances", err)
	} else {
		fmt.Printf("DescribeInstances: total_count %d\n", instances.TotalCount)
	}
	printRequestID(trailer)

	// 3. An action the API does not have, through the untyped JsonApi.
	trailer = nil
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	answer, err := gatewayv1.NewJsonApiClient(conn).Call(ctx, &gatewayv1.CallRequest{
		Service: "cvm", Version: "2017-03-12", Action: "DescribeNoSuchThing", ParamsJson: "{}",
	}, grpc.Trailer(&trailer))
	cancel()
	if err != nil {
		explain("DescribeNoSuchThing", err)
	} else {
		fmt.Printf("DescribeNoSuchThing: %s\n", answer.ResponseJson)
	}
	printRequestID(trailer)
}

// explain prints a failed call's code and acts on its ErrorInfo.reason, read
// from grpc-status-details-bin (status.FromError decodes it).
func explain(call string, err error) {
	st, _ := status.FromError(err)
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if e, ok := d.(*errdetails.ErrorInfo); ok {
			info = e
		}
	}
	if info == nil {
		fmt.Printf("%s failed: code %d (%s), no ErrorInfo: %s\n", call, st.Code(), st.Code(), st.Message())
		return
	}
	fmt.Printf("%s failed: code %d (%s), reason %s\n", call, st.Code(), st.Code(), info.Reason)
	switch info.Reason {
	case "RESOURCE_NOT_FOUND_INSTANCE_NOT_EXIST":
		fmt.Printf("  -> no such instance; the API's code is %s\n", info.Metadata["code"])
	case "INVALID_ACTION":
		fmt.Printf("  -> %s has no action %s\n", info.Metadata["service"], info.Metadata["action"])
	default:
		fmt.Printf("  -> not handled here (domain %s): %s\n", info.Domain, st.Message())
	}
}

// printRequestID prints the upstream RequestId from the trailing metadata
// (on success and failure alike); quote it to support.
func printRequestID(trailer metadata.MD) {
	if ids := trailer.Get("x-tc-requestid"); len(ids) > 0 {
		fmt.Printf("  request id %s\n", ids[0])
	} else {
		fmt.Println("  no request id")
	}
}
