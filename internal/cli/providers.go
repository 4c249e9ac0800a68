package cli

import (
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/source/kube"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/mocksafe"
	"github.com/credrotate/credrotate/pkg/equifax/soap"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// newSOAPProvider builds the SOAP adapter.
func newSOAPProvider(cfg config.Equifax, hc *http.Client, log *logrus.Entry, seen func(credential.Secret)) (equifax.Provider, error) {
	c, err := soap.New(soap.Options{URL: cfg.SOAPURL, ManagementScope: cfg.ManagementScope, HTTPClient: hc, Timeout: cfg.Timeout, Logger: log.WithField("transport", "soap"), SecretSeen: seen})
	if err != nil {
		return nil, usageErrorf("equifax: %v", err)
	}
	return c, nil
}

// newMockSafe wraps p so that nothing is changed at Equifax.
func newMockSafe(p equifax.Provider, log *logrus.Entry) equifax.Provider {
	return mocksafe.New(p, mocksafe.Options{Logger: log.WithField("mock_safe", true)})
}

// newKubeSource reads the current secret through the Kubernetes API.
func newKubeSource(k config.KubernetesSecret) (rotate.SecretReader, error) {
	s, err := kube.New(kube.Options{Namespace: k.Namespace, Name: k.Name, Key: k.Key, Kubeconfig: k.Kubeconfig})
	if err != nil {
		return nil, usageErrorf("currentSecret.kubernetes: %v", err)
	}
	return s, nil
}
