package packaging

import (
	"bytes"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/chartdoc"
)

// TestChartReadmeValuesTable regenerates the chart README's values table
// from values.yaml and values.schema.json and compares: a value added,
// removed, retyped or re-described without `make chart-docs` fails here.
func TestChartReadmeValuesTable(t *testing.T) {
	t.Parallel()
	table, err := chartdoc.Table(readFile(t, "charts/credrotate/values.yaml"), readFile(t, "charts/credrotate/values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	readme := readFile(t, "charts/credrotate/README.md")
	want, err := chartdoc.Update(readme, table)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readme, want) {
		t.Error("charts/credrotate/README.md's values table is out of date: run make chart-docs")
	}
	// Every top-level value is in the table.
	for _, key := range []string{"image.tag", "schedule", "config", "providers", "github.auth", "metrics.enabled", "prometheusRule.enabled"} {
		if !strings.Contains(table, "| `"+key+"` |") {
			t.Errorf("the values table has no row for %s", key)
		}
	}
}

// TestChartNotesPinAndUpgrade: the NOTES name the version installed, the
// image it runs, and how to upgrade.
func TestChartNotesPinAndUpgrade(t *testing.T) {
	t.Parallel()
	chart := string(readFile(t, "charts/credrotate/Chart.yaml"))
	appVersion := ""
	for _, line := range strings.Split(chart, "\n") {
		if v, ok := strings.CutPrefix(line, "appVersion:"); ok {
			appVersion = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	rel := mustRender(t, nil)
	for _, want := range []string{"ghcr.io/credrotate/credrotate:" + appVersion, "helm upgrade credrotate credrotate-<new version>.tgz", "helm rollback credrotate"} {
		if !strings.Contains(rel.notes, want) {
			t.Errorf("NOTES do not say %q:\n%s", want, rel.notes)
		}
	}
	pinned := mustRender(t, values(t, "image: {tag: 1.2.3-patched}"))
	if !strings.Contains(pinned.notes, "ghcr.io/credrotate/credrotate:1.2.3-patched (image.tag is set") {
		t.Errorf("NOTES with image.tag set:\n%s", pinned.notes)
	}
}
