package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261204101500-05cbd45c0e3f+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "05cbd45c0e3f5c8e3a1f4e2b9d7c6a5b4e3d2c1f"},
			{Key: "vcs.time", Value: "2026-12-04T10:15:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}
	goRun := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want []string
	}{
		{"go build in a modified tree", stamped, []string{
			"wsgate v0.0.0-20261204101500-05cbd45c0e3f+dirty\n",
			"revision 05cbd45c0e3f5c8e3a1f4e2b9d7c6a5b4e3d2c1f (2026-12-04T10:15:00Z), modified\n",
			"go1.26.8",
		}},
		{"go install @version", installed, []string{"wsgate v1.2.3\n", "go1.26.8"}},
		{"go run", goRun, []string{"wsgate (devel)\n", "no revision", "go1.26.8"}},
		{"no build information", nil, []string{"wsgate (devel)\n", "no revision"}},
	} {
		got := versionText(tc.bi)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		if tc.bi == installed && strings.Contains(got, "revision") {
			t.Errorf("%s: %q names a revision it does not have", tc.name, got)
		}
	}
}
