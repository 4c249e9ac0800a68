package rest_test

import (
	"testing"

	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/conformance"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
)

func newProvider(t *testing.T, cfg conformance.Config) equifax.Provider {
	p, err := rest.New(rest.Options{
		BaseURL:         cfg.BaseURL,
		ManagementScope: cfg.ManagementScope,
		HTTPClient:      cfg.HTTPClient,
		Timeout:         cfg.Timeout,
		MaxRetries:      cfg.MaxRetries,
		InitialBackoff:  cfg.InitialBackoff,
		MaxBackoff:      cfg.MaxBackoff,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	conformance.Run(t, newProvider)
}
