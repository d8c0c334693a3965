package simulate_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/simulate"
	"github.com/mqttx/mqttx/scenarios"
)

var builtins = []string{"iem", "sensor", "smart_home", "tesla", "weather"}

func builtin(t testing.TB, name string) *simulate.Scenario {
	t.Helper()
	sc, err := simulate.Catalog{Builtin: scenarios.FS}.Find(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return sc
}

// TestBuiltinsListed checks that the catalog lists exactly the documented built-ins and
// that each loads.
func TestBuiltinsListed(t *testing.T) {
	list, err := simulate.Catalog{Builtin: scenarios.FS}.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		if e.Err != nil {
			t.Errorf("%s: %v", e.Name, e.Err)
		}
		if e.Description == "" {
			t.Errorf("%s has no description", e.Name)
		}
		got = append(got, e.Name)
	}
	if len(got) != len(builtins) {
		t.Fatalf("built-ins %v, want %v", got, builtins)
	}
	for i := range got {
		if got[i] != builtins[i] {
			t.Fatalf("built-ins %v, want %v", got, builtins)
		}
	}
}

// TestBuiltinsJSON runs every built-in for a simulated day and checks each payload is a
// JSON object.
func TestBuiltinsJSON(t *testing.T) {
	for _, name := range builtins {
		t.Run(name, func(t *testing.T) {
			sc := builtin(t, name)
			start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			for n := 1; n <= 3; n++ {
				d, err := sc.NewDevice(simulate.DeviceConfig{Index: n, ClientID: "c", Seed: uint64(n)})
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 500; i++ {
					m, err := d.Next(start.Add(time.Duration(i) * 3 * time.Minute))
					if err != nil {
						t.Fatal(err)
					}
					var obj map[string]any
					if err := json.Unmarshal(m.Payload, &obj); err != nil {
						t.Fatalf("message %d: %v: %s", i, err, m.Payload)
					}
				}
			}
		})
	}
}
