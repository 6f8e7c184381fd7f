using Monitoring.Api.Problems;
using Orleans.Storage;

namespace Monitoring.Tests.Api;

/// <summary>Which failures the API answers 503 with Retry-After (send it again), and which stay 500s.</summary>
public sealed class TransientFailureTests
{
    [Fact]
    public void A_grain_state_changed_under_a_stale_activation_is_worth_sending_again()
    {
        // The activation is put away; the request sent again reaches the one that holds the latest state.
        var stale = new InconsistentStateException("server: state 'server' changed since it was read (version 3)", "3", "4");
        Assert.True(UnavailableExceptionHandler.IsTransient(stale));
        Assert.True(UnavailableExceptionHandler.IsTransient(new OrleansException("grain call failed", stale)));
        Assert.True(UnavailableExceptionHandler.IsTransient(new TimeoutException()));
    }

    [Fact]
    public void A_request_on_an_activation_the_cluster_put_away_as_a_duplicate_is_worth_sending_again()
    {
        // As Orleans' GrainRuntime words it when a request still running there asks the runtime for anything.
        var invalid = new InvalidOperationException("Attempt to access an invalid activation: [Activation: S127.0.0.1:11111:1/server/s0-69c338@1a2b InState=Invalid]");
        Assert.True(UnavailableExceptionHandler.IsTransient(invalid));
        Assert.True(UnavailableExceptionHandler.IsTransient(new OrleansException("grain call failed", invalid)));
        Assert.False(UnavailableExceptionHandler.IsTransient(new InvalidOperationException("Sequence contains no elements; Attempt to access an invalid activation")));
    }

    [Fact]
    public void A_programming_error_is_not()
    {
        Assert.False(UnavailableExceptionHandler.IsTransient(new InvalidOperationException("a bug")));
        Assert.False(UnavailableExceptionHandler.IsTransient(new NullReferenceException()));
        Assert.False(UnavailableExceptionHandler.IsTransient(new OrleansException("grain call failed", new ArgumentException("a bug"))));
    }
}
