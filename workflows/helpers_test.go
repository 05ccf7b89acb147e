package workflows

import "github.com/stretchr/testify/mock"

// mockCtx matches the activity context argument of a mocked activity.
var mockCtx = mock.Anything
