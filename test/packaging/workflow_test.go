package packaging

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"sigs.k8s.io/yaml"
)

const workflowPath = "examples/github-actions/credrotate.yml"

// lintWorkflow runs actionlint on a workflow's text, with shellcheck on the
// run: scripts when it is installed (actionlint skips that rule otherwise).
func lintWorkflow(t *testing.T, src []byte) []*actionlint.Error {
	t.Helper()
	opts := &actionlint.LinterOptions{Color: actionlint.ColorOptionKindNever}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck is not installed: run: scripts are not checked")
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	// A name that is not a file on disk: no project config is looked up.
	errs, err := l.Lint("credrotate.yml", src, nil)
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	return errs
}

func TestWorkflowActionlint(t *testing.T) {
	src := readFile(t, workflowPath)
	for _, e := range lintWorkflow(t, src) {
		t.Errorf("%s:%d:%d: %s [%s]", workflowPath, e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestWorkflowActionlintCatchesMistakes shows the lint is not a formality:
// each broken copy of the workflow is rejected.
func TestWorkflowActionlintCatchesMistakes(t *testing.T) {
	src := string(readFile(t, workflowPath))
	tests := []struct {
		name, old, new, wantKind string
		shellcheck               bool
	}{
		{"misspelt input", "PROVIDER_KEY: ${{ inputs.provider_key }}", "PROVIDER_KEY: ${{ inputs.provider_keys }}", "expression", false},
		{"unknown permission scope", "issues: write", "issue: write", "permissions", false},
		{"bad cron", `cron: "0 5 * * 3"`, `cron: "0 5 * * wednesday-ish"`, "events", false},
		{"unknown action input", "app-id: ${{ vars.CREDROTATE_APP_ID }}", "app_id: ${{ vars.CREDROTATE_APP_ID }}", "action", false},
		{"choice default not an option", `default: "true"`, `default: "yes"`, "events", false},
		{"shell mistake", "code=$?", "code=`echo $?`", "shellcheck", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath("shellcheck"); tc.shellcheck && err != nil {
				t.Skip("shellcheck is not installed")
			}
			if !strings.Contains(src, tc.old) {
				t.Fatalf("the workflow no longer contains %q", tc.old)
			}
			broken := strings.Replace(src, tc.old, tc.new, 1)
			errs := lintWorkflow(t, []byte(broken))
			if len(errs) == 0 {
				t.Fatalf("actionlint accepts the workflow with %q", tc.new)
			}
			var kinds []string
			for _, e := range errs {
				kinds = append(kinds, e.Kind)
			}
			if !slices.Contains(kinds, tc.wantKind) {
				t.Errorf("errors of kinds %v, want one of kind %q", kinds, tc.wantKind)
			}
		})
	}
}

// TestWorkflowContract checks what the workflow promises an operator: the
// Wednesday schedule, a manual trigger for one key, one run at a time and
// never cancelled, exactly the permissions it needs, a summary.
func TestWorkflowContract(t *testing.T) {
	src := readFile(t, workflowPath)
	var wf struct {
		On struct {
			Schedule []struct {
				Cron string `json:"cron"`
			} `json:"schedule"`
			WorkflowDispatch struct {
				Inputs map[string]struct {
					Type    string   `json:"type"`
					Options []string `json:"options"`
					Default string   `json:"default"`
				} `json:"inputs"`
			} `json:"workflow_dispatch"`
		} `json:"on"`
		Concurrency struct {
			Group            string `json:"group"`
			CancelInProgress *bool  `json:"cancel-in-progress"`
		} `json:"concurrency"`
		Permissions map[string]string `json:"permissions"`
		Jobs        map[string]struct {
			Permissions any `json:"permissions"`
			Steps       []struct {
				Run string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	// YAML 1.1 reads the key `on` as the boolean true; GitHub reads it as
	// "on". Put it back before decoding.
	var raw map[string]any
	if err := yaml.Unmarshal(src, &raw); err != nil {
		t.Fatal(err)
	}
	if v, ok := raw["true"]; ok {
		raw["on"] = v
		delete(raw, "true")
	}
	j, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &wf); err != nil {
		t.Fatal(err)
	}
	if len(wf.On.Schedule) != 1 || wf.On.Schedule[0].Cron != "0 5 * * 3" {
		t.Errorf("schedule %+v, want one cron 0 5 * * 3", wf.On.Schedule)
	}
	in := wf.On.WorkflowDispatch.Inputs
	if in["provider_key"].Type != "string" {
		t.Errorf("provider_key input %+v, want type string", in["provider_key"])
	}
	if cm := in["cron_mode"]; cm.Type != "choice" || !slices.Equal(cm.Options, []string{"true", "false"}) || cm.Default != "true" {
		t.Errorf("cron_mode input %+v, want a choice of true/false defaulting to true", cm)
	}
	if wf.Concurrency.Group != "credrotate" || wf.Concurrency.CancelInProgress == nil || *wf.Concurrency.CancelInProgress {
		t.Errorf("concurrency %+v, want group credrotate with cancel-in-progress: false", wf.Concurrency)
	}
	want := map[string]string{"contents": "write", "pull-requests": "write", "issues": "write"}
	if len(wf.Permissions) != len(want) {
		t.Errorf("permissions %v, want exactly %v", wf.Permissions, want)
	}
	for k, v := range want {
		if wf.Permissions[k] != v {
			t.Errorf("permissions[%s] = %q, want %q", k, wf.Permissions[k], v)
		}
	}
	var runs strings.Builder
	for name, job := range wf.Jobs {
		if job.Permissions != nil {
			t.Errorf("job %s widens or changes the workflow's permissions: %v", name, job.Permissions)
		}
		for _, s := range job.Steps {
			runs.WriteString(s.Run + "\n")
		}
	}
	for _, want := range []string{"-o json", "--cron-mode", "--provider-key", "$GITHUB_STEP_SUMMARY", "credrotate.yaml"} {
		if !strings.Contains(runs.String(), want) {
			t.Errorf("no step runs %q", want)
		}
	}
	// Inputs reach the scripts only through env:, never spliced into the
	// script text where a crafted value would run as shell.
	if strings.Contains(runs.String(), "${{") {
		t.Error("a run: script interpolates an expression; pass it through env: instead")
	}
}
