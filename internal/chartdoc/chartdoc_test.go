package chartdoc

import (
	"errors"
	"strings"
	"testing"
)

const testValues = `# The chart's values.

image:
  # The image. See <repository>.
  repository: ghcr.io/x/y
  tag: "" # Defaults to appVersion.

# --- Schedule ----------------------------------------------------------------

# A note about something else.

# When it runs; a | in text.
schedule: "0 5 * * 3"
limits: {cpu: 1}
`

const testSchema = `{
  "definitions": {"cron": {"type": "string", "description": "A cron expression."}},
  "properties": {
    "image": {"type": "object", "properties": {
      "repository": {"type": "string"},
      "tag": {"type": "string"}
    }},
    "schedule": {"$ref": "#/definitions/cron"},
    "limits": {"type": "object", "oneOf": [{"type": "object"}, {"type": "null"}]}
  }
}`

func TestTable(t *testing.T) {
	t.Parallel()
	got, err := Table([]byte(testValues), []byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### General\n",
		"| `image.repository` | string | `\"ghcr.io/x/y\"` | The image. See &lt;repository&gt;. |\n",
		"| `image.tag` | string | `\"\"` | Defaults to appVersion. |\n",
		"### Schedule\n",
		"| `schedule` | cron (string) | `\"0 5 * * 3\"` | When it runs; a \\| in text. |\n",
		"| `limits` | object | `{\"cpu\":1}` |  |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "something else") {
		t.Errorf("a paragraph not right above the key is in the table:\n%s", got)
	}
}

func TestTableKeyNotInSchema(t *testing.T) {
	t.Parallel()
	_, err := Table([]byte("image: {}\nnotInSchema: 1\n"), []byte(testSchema))
	if err == nil || !strings.Contains(err.Error(), "notInSchema") {
		t.Fatalf("error %v, want one naming notInSchema", err)
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	readme := "# Chart\n\nintro\n\n" + Begin + "\nold table\n" + End + "\n\nafter\n"
	got, err := Update([]byte(readme), "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Chart\n\nintro\n\n" + Begin + "\nnew table\n\n" + End + "\n\nafter\n"
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	again, err := Update(got, "new table\n")
	if err != nil || string(again) != string(got) {
		t.Errorf("Update is not idempotent: %q, %v", again, err)
	}
	if _, err := Update([]byte("# no markers\n"), "x"); !errors.Is(err, ErrNoMarkers) {
		t.Errorf("no markers: error %v", err)
	}
}
