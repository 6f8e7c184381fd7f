using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Monitoring.Hosting.Persistence;
using Orleans;
using Orleans.Concurrency;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;

/// <summary>
/// The floor of a grain per alert group on this machine: a process shaped like the embedded product (Kestrel and one
/// Orleans silo, the product's in-process state store) whose grains do nothing but the product's hops, with no rules
/// of their own. <c>POST /api/v2/alerts</c> takes a batch and gives it to a partition grain; the partition tells each
/// alert's group grain (a new activation per group, as each storm's groups are new); the group stores its state and
/// hands a message to the channel grain; the channel gives it to one of four delivery workers by group; the worker
/// stores it, posts the webhook, and reports the delivery to the group. Started as its own process by
/// <c>--am-storm --floor</c>, so its CPU is read alone: what the product's path costs beyond this is the product's
/// own, and what this costs is the price of the shape (activations, grain calls, state writes, one HTTP post each).
/// </summary>
public static class GrainFloor
{
    public const string StorageName = "floor";

    public static async Task RunAsync(string[] args)
    {
        var url = args.SkipWhile(a => a != "--floor-host").Skip(1).First();
        var hook = args.SkipWhile(a => a != "--hook").Skip(1).First();
        var siloPort = TelemetryThroughput.Arg(args, "--silo-port", 21114);
        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(url);
        builder.Services.AddSingleton(new FloorHook(new HttpClient(), hook));
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, siloPort + 19000);
            silo.Services.AddGrainStorage(StorageName, (sp, name) => new InProcessGrainStorage(name, sp.GetRequiredService<Orleans.Serialization.Serializer>()));
        });
        var app = builder.Build();
        app.MapGet("/ready", () => "ok");
        app.MapPost("/api/v2/alerts", async (FloorAlert[] alerts, IGrainFactory grains) =>
        {
            // Partitions by the group's key, as the product's Alertmanager partitions take alerts by fingerprint.
            await Task.WhenAll(alerts.GroupBy(a => (uint)a.GroupKey.GetHashCode() % 16)
                .Select(p => grains.GetGrain<IFloorPartitionGrain>((long)p.Key).PostAsync([.. p])));
            return Results.Ok();
        });
        await app.RunAsync();
    }
}

[GenerateSerializer, Immutable, Alias("floor.Alert")]
public sealed record FloorAlert([property: Id(0), JsonPropertyName("labels")] Dictionary<string, string> Labels)
{
    [JsonIgnore]
    public string GroupKey => $"{Labels.GetValueOrDefault("storm")}/{Labels.GetValueOrDefault("instance")}";
}

[GenerateSerializer, Immutable, Alias("floor.Message")]
public sealed record FloorMessage([property: Id(0)] string GroupKey, [property: Id(1)] FloorAlert Alert);

[GenerateSerializer, Alias("floor.GroupState")]
public sealed class FloorGroupState
{
    [Id(0)] public List<FloorAlert> Members { get; set; } = [];
    [Id(1)] public bool Sent { get; set; }
    [Id(2)] public bool Delivered { get; set; }
}

[GenerateSerializer, Alias("floor.WorkerState")]
public sealed class FloorWorkerState
{
    [Id(0)] public Dictionary<string, FloorMessage> Pending { get; set; } = [];
}

public sealed record FloorHook(HttpClient Http, string Url);

[Alias("floor.IFloorPartitionGrain")]
public interface IFloorPartitionGrain : IGrainWithIntegerKey
{
    Task PostAsync(FloorAlert[] alerts);
}

[Alias("floor.IFloorGroupGrain")]
public interface IFloorGroupGrain : IGrainWithStringKey
{
    Task UpdateAsync(FloorAlert alert);

    [OneWay]
    Task DeliveredAsync();
}

[Alias("floor.IFloorChannelGrain")]
public interface IFloorChannelGrain : IGrainWithStringKey
{
    Task EnqueueAsync(FloorMessage message);
}

[Alias("floor.IFloorWorkerGrain")]
public interface IFloorWorkerGrain : IGrainWithStringKey
{
    Task EnqueueAsync(FloorMessage message);
}

[Reentrant]
public sealed class FloorPartitionGrain : Grain, IFloorPartitionGrain
{
    public Task PostAsync(FloorAlert[] alerts) =>
        Task.WhenAll(alerts.Select(a => GrainFactory.GetGrain<IFloorGroupGrain>(a.GroupKey).UpdateAsync(a)));
}

public sealed class FloorGroupGrain([PersistentState("group", GrainFloor.StorageName)] IPersistentState<FloorGroupState> state) : Grain, IFloorGroupGrain
{
    public async Task UpdateAsync(FloorAlert alert)
    {
        state.State.Members.Add(alert);
        state.State.Sent = true;
        await state.WriteStateAsync(); // stored before it is handed over, as the product's incidents do
        await GrainFactory.GetGrain<IFloorChannelGrain>("bench").EnqueueAsync(new FloorMessage(this.GetPrimaryKeyString(), alert));
    }

    public Task DeliveredAsync()
    {
        state.State.Delivered = true; // stored behind in the product; here not at all
        return Task.CompletedTask;
    }
}

[Reentrant]
public sealed class FloorChannelGrain : Grain, IFloorChannelGrain
{
    public Task EnqueueAsync(FloorMessage message) =>
        GrainFactory.GetGrain<IFloorWorkerGrain>($"bench/{(uint)message.GroupKey.GetHashCode() % 4}").EnqueueAsync(message);
}

[Reentrant]
public sealed class FloorWorkerGrain([PersistentState("worker", GrainFloor.StorageName)] IPersistentState<FloorWorkerState> state, FloorHook hook)
    : Grain, IFloorWorkerGrain
{
    public async Task EnqueueAsync(FloorMessage message)
    {
        state.State.Pending[message.GroupKey] = message;
        await state.WriteStateAsync();
        _ = SendAsync(message);
    }

    private async Task SendAsync(FloorMessage message)
    {
        using var response = await hook.Http.PostAsJsonAsync(hook.Url, new { alerts = new[] { new { status = "firing", labels = message.Alert.Labels } } });
        state.State.Pending.Remove(message.GroupKey);
        await GrainFactory.GetGrain<IFloorGroupGrain>(message.GroupKey).DeliveredAsync();
    }
}
