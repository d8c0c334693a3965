package build

import (
	"runtime/debug"
	"testing"
)

func TestInfoFrom(t *testing.T) {
	info := func(v string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{Main: debug.Module{Version: v}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	vcs := info("(devel)", "vcs.revision", "0123abcd", "vcs.time", "2026-01-02T15:04:05Z", "vcs.modified", "false")
	tests := []struct {
		name                string
		version, commit, dt string
		read                func() (*debug.BuildInfo, bool)
		want                Info
	}{
		{"linked wins", "v1.2.3", "feed", "2026-12-05T00:00:00Z", vcs,
			Info{"v1.2.3", "feed", "2026-12-05T00:00:00Z"}},
		{"module version", "", "", "", info("v0.4.0"),
			Info{"v0.4.0", "unknown", "unknown"}},
		{"vcs settings", "", "", "", vcs,
			Info{"dev", "0123abcd", "2026-01-02T15:04:05Z"}},
		{"dirty tree", "", "", "", info("(devel)", "vcs.revision", "0123abcd", "vcs.modified", "true"),
			Info{"dev", "0123abcd-dirty", "unknown"}},
		{"linked version, vcs commit", "v1.0.0", "", "", vcs,
			Info{"v1.0.0", "0123abcd", "2026-01-02T15:04:05Z"}},
		{"devel build", "", "", "", info("(devel)"), Info{"dev", "unknown", "unknown"}},
		{"no build info", "", "", "", none, Info{"dev", "unknown", "unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := infoFrom(tt.version, tt.commit, tt.dt, tt.read); got != tt.want {
				t.Errorf("infoFrom(%q, %q, %q) = %+v, want %+v", tt.version, tt.commit, tt.dt, got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	got := Info{"v1.2.3", "0123abcd", "2026-01-02T15:04:05Z"}.String()
	want := "v1.2.3\ncommit 0123abcd\nbuilt 2026-01-02T15:04:05Z"
	if got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
