// Package build reports the version, commit and build date of the mqttx binary.
package build

import (
	"fmt"
	"runtime/debug"
)

// Version, Commit and Date are set at link time, as the release build does:
//
//	-ldflags "-X github.com/mqttx/mqttx/internal/build.Version=v1.2.3
//	          -X github.com/mqttx/mqttx/internal/build.Commit=0123abc
//	          -X github.com/mqttx/mqttx/internal/build.Date=2026-01-02T15:04:05Z"
//
// When one is empty, Current falls back to what the Go toolchain recorded in the binary:
// the module version (set by `go install module@version`) and the VCS revision and time
// (set by `go build` in a git checkout unless -buildvcs=false).
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// Info describes one build of mqttx.
type Info struct {
	Version string // v1.2.3, or "dev"
	Commit  string // the git commit, with "-dirty" when the tree had changes, or "unknown"
	Date    string // when it was built (RFC 3339), or "unknown"
}

// Current returns the running binary's build information.
func Current() Info {
	return infoFrom(Version, Commit, Date, debug.ReadBuildInfo)
}

// VersionString returns the version alone, such as v1.2.3 or dev.
func VersionString() string {
	return Current().Version
}

// String returns the text `mqttx --version` prints after the program name: the version
// on the first line, then the commit and the build date.
func (i Info) String() string {
	return fmt.Sprintf("%s\ncommit %s\nbuilt %s", i.Version, i.Commit, i.Date)
}

func infoFrom(version, commit, date string, read func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: version, Commit: commit, Date: date}
	if bi, ok := read(); ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		var revision, modified, vcsTime string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			case "vcs.time":
				vcsTime = s.Value
			}
		}
		if i.Commit == "" && revision != "" {
			i.Commit = revision
			if modified == "true" {
				i.Commit += "-dirty"
			}
		}
		// A build without -ldflags has no build date of its own; the commit's time is
		// the closest thing the binary records.
		if i.Date == "" {
			i.Date = vcsTime
		}
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	if i.Date == "" {
		i.Date = "unknown"
	}
	return i
}
