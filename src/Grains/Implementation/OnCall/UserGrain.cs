using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Settings;

namespace Monitoring.OnCall;

[GenerateSerializer, Alias("mcp.UserState")]
public sealed class UserState
{
    [Id(0), JsonPropertyName("User")] public User? User { get; set; }
}

/// <summary>One person who can be paged. Escalations read the person when they page, so an edit applies to the next page.</summary>
[GrainType("user")]
public sealed class UserGrain(
    [PersistentState("user", StorageNames.Rules)] IPersistentState<UserState> state,
    IListingStore listings,
    TimeProvider time,
    ILogger<UserGrain> logger)
    : Grain, IUserGrain
{
    private string UserId => this.GetPrimaryKeyString();

    public Task<WriteResult> CreateAsync(User user) =>
        state.State.User is not null ? Task.FromResult(WriteResult.Duplicate(UserId)) : SaveAsync(user);

    public Task<WriteResult> UpdateAsync(User user) =>
        state.State.User is null ? Task.FromResult(WriteResult.NotFound) : SaveAsync(user);

    public async Task<WriteResult> DeleteAsync()
    {
        if (state.State.User is null) return WriteResult.NotFound;
        var users = await OnCallUses.UsersOfAsync(listings, UserId);
        if (users.Length > 0) return WriteResult.Conflict($"user '{UserId}' is named by {string.Join(", ", users)}; change those first");
        await GrainFactory.GetGrain<ICalendarFeedsGrain>($"user/{UserId}").RevokeAllAsync(); // its secret URLs end with it
        await state.ClearStateAsync();
        state.State = new UserState();
        await listings.RemoveAsync<UserEntry>(UserId);
        logger.LogInformation("User {UserId} deleted", UserId);
        return WriteResult.Ok;
    }

    public Task<User?> GetAsync() => Task.FromResult(state.State.User);

    private async Task<WriteResult> SaveAsync(User user)
    {
        if (user.Id != UserId) return WriteResult.Invalid("id", $"the body's id '{user.Id}' differs from '{UserId}'");
        var errors = new List<FieldError>();
        if (NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(user.TimeZone) is null)
        {
            errors.Add(new FieldError("timeZone", $"'{user.TimeZone}' is not a time zone of the IANA database (for example Europe/Berlin)"));
        }
        await ContactChannels.AddBadAsync(GrainFactory, user.ContactMethods, errors);
        if (errors.Count > 0) return WriteResult.Invalid([.. errors]);
        state.State.User = user with { UpdatedAt = time.GetUtcNow() };
        await state.WriteStateAsync();
        await listings.UpsertAsync(new UserEntry(state.State.User));
        logger.LogInformation("User {UserId} saved with {Count} contact methods", UserId, user.ContactMethods.Length);
        return WriteResult.Ok;
    }
}
