package build

import (
	"runtime/debug"
	"testing"
)

func TestVersionFrom(t *testing.T) {
	info := func(v string, ok bool) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			if !ok {
				return nil, false
			}
			return &debug.BuildInfo{Main: debug.Module{Version: v}}, true
		}
	}
	tests := []struct {
		name   string
		linked string
		read   func() (*debug.BuildInfo, bool)
		want   string
	}{
		{"linked wins", "v1.2.3", info("v9.9.9", true), "v1.2.3"},
		{"module version", "", info("v0.4.0", true), "v0.4.0"},
		{"devel build", "", info("(devel)", true), "dev"},
		{"no build info", "", info("", false), "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionFrom(tt.linked, tt.read); got != tt.want {
				t.Errorf("versionFrom(%q) = %q, want %q", tt.linked, got, tt.want)
			}
		})
	}
}
