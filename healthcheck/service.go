package healthcheck

import (
	"context"
	"errors"
)

// Service is what the REST API's health check routes use: the Store's
// reads and writes plus the Monitor's status. It satisfies
// api.HealthCheckService.
type Service struct {
	*Store
	mon *Monitor
}

// NewService returns a Service over store and mon.
func NewService(store *Store, mon *Monitor) (*Service, error) {
	if store == nil || mon == nil {
		return nil, errors.New("healthcheck: NewService needs a Store and a Monitor")
	}
	return &Service{Store: store, mon: mon}, nil
}

// HealthCheckStatus returns the status of check id as this node computes it,
// with every live observation. A check the Monitor has not seen yet is
// HEALTHY with no observations (Route 53's rule for new checks).
func (s *Service) HealthCheckStatus(ctx context.Context, id string) (Status, error) {
	hc, err := s.GetHealthCheck(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st, _ := s.mon.Status(hc.ID)
	return st, nil
}
