package harness

import (
	"context"
	"fmt"
	"strings"
)

// Scenario is a runner: FanIn, FanOut, Latency, IdleConns or ConnectRate.
type Scenario func(ctx context.Context, o Options) (*Summary, error)

var scenarios = []struct {
	name string
	run  Scenario
}{
	{"fan-in", FanIn},
	{"fan-out", FanOut},
	{"latency", Latency},
	{"idle-conns", IdleConns},
	{"connect-rate", ConnectRate},
}

// Names returns the scenario names Lookup accepts, in a fixed order.
func Names() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

// Lookup returns the scenario called name (as in Summary.Scenario).
func Lookup(name string) (Scenario, error) {
	for _, s := range scenarios {
		if s.name == name {
			return s.run, nil
		}
	}
	return nil, fmt.Errorf("unknown scenario %q: must be one of %s", name, strings.Join(Names(), ", "))
}
