// Command grpclb-client is an unmodified grpc-go client (grpc-go 1.33, Debian's
// golang-google-grpc-dev) that balances its calls through grpclb, with lookaside as the
// remote balancer. test/interop-grpc-go.test.ts builds and drives it.
//
// It dials the target with a manual resolver whose state carries the balancer address
// (grpclbstate) and, optionally, fallback backend addresses, and selects the grpclb policy
// with a service config. Nothing in grpc-go is patched or configured beyond that.
//
// It reads one command per line on stdin and answers each with one JSON line on stdout:
//
//	calls N        make N sequential unary calls
//	until MS A...  make calls until every peer address A has answered, or MS milliseconds pass
//	quit           close the channel (ending the BalanceLoad stream) and exit
//
// An answer counts calls per peer address (as grpc-go saw it) and errors. grpc-go's own
// log goes to stderr (set GRPC_GO_LOG_SEVERITY_LEVEL / GRPC_GO_LOG_VERBOSITY_LEVEL).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang/protobuf/ptypes/empty"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/balancer/grpclb" // registers the "grpclb" policy
	grpclbstate "google.golang.org/grpc/balancer/grpclb/state"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

const serviceConfig = `{"loadBalancingConfig":[{"grpclb":{}}]}`

type answer struct {
	Command    string         `json:"command"`
	Calls      int            `json:"calls"`
	Peers      map[string]int `json:"peers"`
	Errors     int            `json:"errors"`
	FirstError string         `json:"firstError,omitempty"`
	Millis     int64          `json:"millis"`
}

func main() {
	balancerAddr := flag.String("balancer", "", "host:port of the grpclb balancer (lookaside)")
	target := flag.String("target", "echo", "the name sent in InitialLoadBalanceRequest")
	fallback := flag.String("fallback", "", "comma-separated host:port backends to use on a FallbackResponse")
	method := flag.String("method", "/interop.Echo/Call", "unary method to call")
	callTimeout := flag.Duration("call-timeout", 5*time.Second, "deadline of each call")
	flag.Parse()
	if *balancerAddr == "" {
		fmt.Fprintln(os.Stderr, "-balancer is required")
		os.Exit(2)
	}

	var fallbackAddrs []resolver.Address
	for _, a := range strings.Split(*fallback, ",") {
		if a != "" {
			fallbackAddrs = append(fallbackAddrs, resolver.Address{Addr: a})
		}
	}
	r := manual.NewBuilderWithScheme("lookaside-interop")
	r.InitialState(grpclbstate.Set(
		resolver.State{Addresses: fallbackAddrs},
		&grpclbstate.State{BalancerAddresses: []resolver.Address{{Addr: *balancerAddr, ServerName: "lookaside"}}},
	))

	cc, err := grpc.Dial(
		"lookaside-interop:///"+*target,
		grpc.WithInsecure(),
		grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(serviceConfig),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dial: %v\n", err)
		os.Exit(1)
	}

	out := json.NewEncoder(os.Stdout)
	call := func(a *answer) {
		ctx, cancel := context.WithTimeout(context.Background(), *callTimeout)
		defer cancel()
		var p peer.Peer
		err := cc.Invoke(ctx, *method, &empty.Empty{}, &empty.Empty{}, grpc.Peer(&p), grpc.WaitForReady(true))
		a.Calls++
		if err != nil {
			a.Errors++
			if a.FirstError == "" {
				a.FirstError = err.Error()
			}
			return
		}
		a.Peers[p.Addr.String()]++
	}

	_ = out.Encode(map[string]bool{"ready": true})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fields := strings.Fields(in.Text())
		if len(fields) == 0 {
			continue
		}
		a := &answer{Command: in.Text(), Peers: map[string]int{}}
		start := time.Now()
		switch {
		case fields[0] == "calls" && len(fields) == 2:
			n, _ := strconv.Atoi(fields[1])
			for i := 0; i < n; i++ {
				call(a)
			}
		case fields[0] == "until" && len(fields) >= 3:
			ms, _ := strconv.Atoi(fields[1])
			deadline := start.Add(time.Duration(ms) * time.Millisecond)
			missing := func() bool {
				for _, want := range fields[2:] {
					if a.Peers[want] == 0 {
						return true
					}
				}
				return false
			}
			for missing() && time.Now().Before(deadline) {
				call(a)
			}
		case fields[0] == "quit":
			cc.Close()
			_ = out.Encode(a)
			return
		default:
			a.FirstError = "unknown command"
			a.Errors = 1
		}
		a.Millis = time.Since(start).Milliseconds()
		_ = out.Encode(a)
	}
	cc.Close()
}
