package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"success", []string{"true"}, 0},
		{"exit code", []string{"sh", "-c", "exit 3"}, 3},
		{"killed", []string{"sh", "-c", "kill -9 $$"}, 1},
		{"missing command", []string{filepath.Join(t.TempDir(), "nope")}, 127},
		{"no command", nil, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.json")
			if got := run(out, tc.args); got != tc.code {
				t.Fatalf("run = %d, want %d", got, tc.code)
			}
			if tc.code == 127 || tc.code == 2 {
				return
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var m measured
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if m.Wall <= 0 || m.MaxRSS <= 0 {
				t.Errorf("measured %+v: no wall time or RSS", m)
			}
			if tc.code != 1 && m.ExitCode != tc.code {
				t.Errorf("exit code %d, want %d", m.ExitCode, tc.code)
			}
			if tc.code == 1 && m.ExitCode != -1 {
				t.Errorf("a killed command's exit code is %d, want -1", m.ExitCode)
			}
		})
	}
}
