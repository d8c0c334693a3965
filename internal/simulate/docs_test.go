package simulate

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// yamlBlocks returns the ```yaml blocks of a Markdown file.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDocumentedExamplesLoad keeps the examples in scenarios/README.md and the README's
// simulate section working.
func TestDocumentedExamplesLoad(t *testing.T) {
	for _, path := range []string{"../../scenarios/README.md", "../../README.md"} {
		blocks := yamlBlocks(t, path)
		n := 0
		for _, b := range blocks {
			if !strings.Contains(b, "payload:") {
				continue // a config file, not a scenario
			}
			n++
			sc, err := Load(path, []byte(b))
			if err != nil {
				t.Errorf("%s example: %v", path, err)
				continue
			}
			d, err := sc.NewDevice(DeviceConfig{Index: 1, ClientID: "c", Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if _, err := d.Next(fixedTime(i)); err != nil {
					t.Errorf("%s example: %v", path, err)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s has no scenario example", path)
		}
	}
}

// TestEveryFunctionDocumented checks scenarios/README.md names every template function
// and every built-in.
func TestEveryFunctionDocumented(t *testing.T) {
	data, err := os.ReadFile("../../scenarios/README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, f := range FuncNames() {
		if !strings.Contains(doc, "`"+f+"`") {
			t.Errorf("function %s is not documented in scenarios/README.md", f)
		}
	}
	for _, b := range []string{"sensor", "tesla", "smart_home", "iem", "weather"} {
		if !strings.Contains(doc, "### "+b+"\n") {
			t.Errorf("built-in %s is not documented in scenarios/README.md", b)
		}
	}
}
