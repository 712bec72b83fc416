package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// writeSaved writes steps saved by earlier runs (their step.json) into the
// Markdown file. Files of the same step merge in order: a later run's
// workloads, held figures and membership replace the earlier ones', so a
// step can be completed by a run of only the workloads that failed.
func writeSaved(markdown string, files []string) error {
	var steps []*step
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		st := &step{}
		if err := json.Unmarshal(b, st); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		i := slices.IndexFunc(steps, func(s *step) bool { return s.key() == st.key() })
		if i < 0 {
			steps = append(steps, st)
			continue
		}
		steps[i].merge(st)
	}
	for _, st := range steps {
		if err := writeMarkdown(markdown, st); err != nil {
			return err
		}
	}
	return nil
}

// merge adds a later run of the same step.
func (s *step) merge(later *step) {
	for _, w := range later.Workloads {
		if i := slices.IndexFunc(s.Workloads, func(x workload) bool { return x.Name == w.Name }); i >= 0 {
			s.Workloads[i] = w
		} else {
			s.Workloads = append(s.Workloads, w)
		}
	}
	if later.Hold != nil {
		s.Hold, s.MemAvailableBefore, s.SlabBefore, s.NodeIdleRSS = later.Hold, later.MemAvailableBefore, later.SlabBefore, later.NodeIdleRSS
	}
	if later.Membership != nil {
		s.Membership = later.Membership
	}
	s.Command += "`, then `" + later.Command
	s.Revision, s.Began, s.Load = later.Revision, later.Began, later.Load
}
