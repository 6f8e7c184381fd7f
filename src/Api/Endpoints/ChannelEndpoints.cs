using Monitoring.Api.Audit;
using Monitoring.Api.Security;
using Monitoring.Api.Contracts;
using Monitoring.Api.Problems;
using Monitoring.Channels;
using Monitoring.Listings;

namespace Monitoring.Api.Endpoints;

public static class ChannelEndpoints
{
    public static void MapChannelEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/channels").WithTags("Channels")
            .Audited("channel", async (grains, id) => await grains.GetGrain<INotificationChannelGrain>(id).GetAsync() is { } c ? ChannelResponse.From(c) : null);

        group.MapPost("/", async (ChannelRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToChannel(null, errors) is not { } channel) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<INotificationChannelGrain>(channel.Id);
            if (ProblemResults.From(await grain.CreateAsync(channel), "channel", channel.Id) is { } problem) return problem;
            return TypedResults.Created($"/api/channels/{channel.Id}", ChannelResponse.From((await grain.GetAsync())!));
        });

        group.MapGet("/", async (IListingStore listings, string? type, int? limit, int? offset) =>
        {
            var errors = new RequestErrors();
            if (!Paging.TryPage(limit, offset, errors, out var take, out var skip)) return ProblemResults.Invalid(errors.ToArray());
            var filter = type is null ? new Dictionary<string, string>() : new() { ["type"] = type };
            return TypedResults.Ok(await Paging.PageAsync<ChannelEntry, ChannelResponse>(listings, filter, take, skip, e => ChannelResponse.From(e.Channel)));
        });

        group.MapGet("/{id}", async (string id, IGrainFactory grains) =>
            await grains.GetGrain<INotificationChannelGrain>(id).GetAsync() is { } channel
                ? TypedResults.Ok(ChannelResponse.From(channel))
                : ProblemResults.NotFound("channel", id));

        group.MapPut("/{id}", async (string id, ChannelRequest request, IGrainFactory grains) =>
        {
            var errors = new RequestErrors();
            if (request.ToChannel(id, errors) is not { } channel) return ProblemResults.Invalid(errors.ToArray());
            var grain = grains.GetGrain<INotificationChannelGrain>(id);
            if (ProblemResults.From(await grain.UpdateAsync(channel), "channel", id) is { } problem) return problem;
            return TypedResults.Ok(ChannelResponse.From((await grain.GetAsync())!));
        });

        group.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
            ProblemResults.From(await grains.GetGrain<INotificationChannelGrain>(id).DeleteAsync(), "channel", id) ?? Results.NoContent());

        group.MapGet("/{id}/deliveries", async (string id, IGrainFactory grains, int? limit) =>
        {
            var grain = grains.GetGrain<INotificationChannelGrain>(id);
            if (!await grain.ExistsAsync()) return ProblemResults.NotFound("channel", id);
            if (limit is < 1 or > 1000) return ProblemResults.Invalid([new Common.FieldError("limit", "must be from 1 to 1000")]);
            var deliveries = await grain.GetDeliveriesAsync(limit ?? 100);
            return TypedResults.Ok(Page<DeliveryResponse>.All([.. deliveries.Select(DeliveryResponse.From)]));
        });

        // Sends one test message now, past the outbox and the rate limit, and answers what the receiver said.
        group.MapPost("/{id}/test", async (string id, IGrainFactory grains) =>
        {
            var grain = grains.GetGrain<INotificationChannelGrain>(id);
            if (!await grain.ExistsAsync()) return ProblemResults.NotFound("channel", id);
            return TypedResults.Ok(TestDeliveryResponse.From(await grain.SendTestAsync()));
        });
    }
}
