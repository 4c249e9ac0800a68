package cli

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/pkg/config"
)

// TestBuildGCPKeyNamesTheFix: a missing credentials file is a usage error
// that names the key.
func TestBuildGCPKeyNamesTheFix(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{GCP: config.GCP{Endpoint: "https://iam.googleapis.com/", TokenURL: "https://oauth2.googleapis.com/token", CredentialsFile: filepath.Join(t.TempDir(), "missing.json")}}
	_, err := buildGCPKey(providerBuild{Config: cfg})
	var ee *exitError
	if err == nil || !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "gcp.credentialsFile") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := providerBuilders[config.TypeGCPKey]; !ok {
		t.Fatal("gcpkey is not registered")
	}
}
