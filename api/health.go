package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.temporal.io/sdk/client"

	"strata/apicall"
)

const healthTimeout = 3 * time.Second

func (s *server) registerHealth(h huma.API) {
	huma.Register(h, huma.Operation{
		OperationID:   "health",
		Method:        http.MethodGet,
		Path:          "/health",
		Summary:       "controller health",
		Description:   "200 when the database and Temporal answer, otherwise 500 with the failing component named.",
		Tags:          []string{"health"},
		DefaultStatus: http.StatusOK,
	}, func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, healthTimeout)
		defer cancel()
		var problems apicall.RcList
		if err := s.Store.Ping(ctx); err != nil {
			problems = append(problems, apicall.Failure(apicall.FailNotConnected, 0, 0, "The database does not answer.", err.Error(), "Check the [db] section of the configuration and the database server.")...)
		}
		if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			problems = append(problems, apicall.Failure(apicall.FailNotConnected, 0, 0, "Temporal does not answer.", err.Error(), "Check the [temporal] section of the configuration and the Temporal server.")...)
		}
		if len(problems) > 0 {
			return nil, problems
		}
		return nil, nil
	})
}
