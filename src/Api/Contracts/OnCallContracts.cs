using System.Globalization;
using System.Text.RegularExpressions;
using Monitoring.Api.Problems;
using Monitoring.Common;
using Monitoring.OnCall;

namespace Monitoring.Api.Contracts;

public sealed record ContactMethodRequest(string? Id, string? Type, string? Channel, string? Address);

public sealed record NotificationRuleRequest(string? ContactMethod, string? After);

/// <summary>A person as written: a name, a time zone, contact methods, and the order to use them in.</summary>
public sealed partial record UserRequest(string? Id, string? Name, string? TimeZone, ContactMethodRequest[]? ContactMethods, NotificationRuleRequest[]? NotificationRules, string? ShiftNotice = null)
{
    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex Email();

    /// <summary>A Slack user (or bot) id: U or W and up to 20 capitals and digits.</summary>
    [GeneratedRegex(@"^[UW][A-Z0-9]{2,20}$")]
    private static partial Regex SlackUser();

    public User? ToUser(string? routeId, RequestErrors errors)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (Name is { Length: > 200 }) errors.Add("name", "is at most 200 characters");
        var zone = TimeZone ?? "UTC"; // the zone itself is checked by the user's grain, against the time-zone database
        if (zone.Length > 64) errors.Add("timeZone", "is at most 64 characters");
        var methods = new List<ContactMethod>();
        if (ContactMethods is { Length: > User.MaxContactMethods }) errors.Add("contactMethods", $"at most {User.MaxContactMethods}");
        for (var i = 0; i < (ContactMethods?.Length ?? 0); i++)
        {
            var m = ContactMethods![i];
            var at = $"contactMethods[{i}]";
            if (m is null)
            {
                errors.Add(at, "must be an object with \"id\", \"type\", \"channel\" and \"address\"");
                continue;
            }
            if (!Ids.IsValid(m.Id)) errors.Add($"{at}.id", $"is required: {Ids.Describe}");
            else if (methods.Any(x => x.Id == m.Id)) errors.Add($"{at}.id", $"'{m.Id}' names another contact method too");
            if (!Enum.TryParse<ContactType>(m.Type, ignoreCase: true, out var type) || !Enum.IsDefined(type) || int.TryParse(m.Type, out _))
            {
                errors.Add($"{at}.type", $"'{m.Type}' is not one of: email, slack, webhook");
                continue;
            }
            if (!Ids.IsValid(m.Channel)) errors.Add($"{at}.channel", $"is required: the {type.ToString().ToLowerInvariant()} channel that carries it");
            switch (type)
            {
                case ContactType.Email when m.Address is null || m.Address.Length > 254 || !Email().IsMatch(m.Address):
                    errors.Add($"{at}.address", $"'{m.Address}' is not an email address");
                    break;
                case ContactType.Slack when m.Address is null || !SlackUser().IsMatch(m.Address):
                    errors.Add($"{at}.address", $"'{m.Address}' is not a Slack user id (U… or W…, as in the person's Slack profile)");
                    break;
                case ContactType.Webhook when m.Address is not null:
                    errors.Add($"{at}.address", "a webhook contact is the person's own webhook channel; it takes no address");
                    break;
            }
            methods.Add(new ContactMethod(m.Id ?? "", type, m.Channel ?? "", m.Address));
        }
        var rules = new List<NotificationRule>();
        if (NotificationRules is { Length: > User.MaxNotificationRules }) errors.Add("notificationRules", $"at most {User.MaxNotificationRules}");
        for (var i = 0; i < (NotificationRules?.Length ?? 0); i++)
        {
            var r = NotificationRules![i];
            var at = $"notificationRules[{i}]";
            if (r is null)
            {
                errors.Add(at, "must be an object with \"contactMethod\" and \"after\"");
                continue;
            }
            if (methods.All(m => m.Id != r.ContactMethod)) errors.Add($"{at}.contactMethod", $"'{r.ContactMethod}' is not one of this user's contact methods");
            var after = TimeSpan.Zero;
            if (r.After is not null && !Durations.TryParse(r.After, out after, out var error)) errors.Add($"{at}.after", error);
            else if (after > User.MaxRuleDelay) errors.Add($"{at}.after", $"is at most {Durations.Format(User.MaxRuleDelay)}");
            rules.Add(new NotificationRule(r.ContactMethod ?? "", after));
        }
        TimeSpan? notice = null;
        if (ShiftNotice is not null)
        {
            if (!Durations.TryParse(ShiftNotice, out var lead, out var error)) errors.Add("shiftNotice", error);
            else if (lead <= TimeSpan.Zero || lead > User.MaxShiftNotice) errors.Add("shiftNotice", $"must be more than 0s and at most {Durations.Format(User.MaxShiftNotice)}");
            else notice = lead;
        }
        return errors.Any ? null : new User(id!, Name ?? id!, zone, [.. methods], [.. rules], default) { ShiftNotice = notice };
    }
}

public sealed record ContactMethodResponse(string Id, string Type, string Channel, string? Address);

public sealed record NotificationRuleResponse(string ContactMethod, string After);

public sealed record UserResponse(string Id, string Name, string TimeZone, ContactMethodResponse[] ContactMethods, NotificationRuleResponse[] NotificationRules, string? ShiftNotice, DateTimeOffset UpdatedAt)
{
    public static UserResponse From(User u) => new(u.Id, u.Name, u.TimeZone,
        [.. u.ContactMethods.Select(m => new ContactMethodResponse(m.Id, m.Type.ToString().ToLowerInvariant(), m.Channel, m.Address))],
        [.. u.NotificationRules.Select(r => new NotificationRuleResponse(r.ContactMethod, Durations.Format(r.After)))],
        u.ShiftNotice is { } notice ? Durations.Format(notice) : null, u.UpdatedAt);
}

public sealed record RestrictionRequest(string[]? Days, string? From, string? To);

public sealed record LayerRequest(string? Name, string[]? Users, string? Start, string? Shift, RestrictionRequest[]? Restrictions);

public sealed record OverrideRequest(string? Id, string? User, DateTimeOffset? Start, DateTimeOffset? End, string? Replaces)
{
    public ScheduleOverride? ToOverride(string at, RequestErrors errors)
    {
        var prefix = at.Length > 0 ? at + "." : "";
        if (Id is not null && !Ids.IsValid(Id)) errors.Add($"{prefix}id", Ids.Describe);
        if (!Ids.IsValid(User)) errors.Add($"{prefix}user", "is required: the id of the user who takes the time");
        if (Replaces is not null && !Ids.IsValid(Replaces)) errors.Add($"{prefix}replaces", $"'{Replaces}' is not a user id");
        if (Start is null) errors.Add($"{prefix}start", "is required: an RFC 3339 time");
        if (End is null) errors.Add($"{prefix}end", "is required: an RFC 3339 time");
        if (Start is null || End is null || !Ids.IsValid(User)) return null;
        return new ScheduleOverride(Id ?? Guid.NewGuid().ToString("N")[..12], User!, Start.Value, End.Value, Replaces);
    }
}

/// <summary>A schedule as written: a time zone, layers (the last the highest), and overrides.</summary>
public sealed partial record ScheduleRequest(string? Id, string? Name, string? TimeZone, LayerRequest[]? Layers, OverrideRequest[]? Overrides)
{
    public const int MaxLayers = 10;
    public const int MaxUsersPerLayer = 100;

    [GeneratedRegex(@"^(\d{1,4})([hdw])$")]
    private static partial Regex ShiftPattern();

    private static readonly Dictionary<string, DayOfWeek> DayNames = Enum.GetValues<DayOfWeek>()
        .SelectMany(d => new[] { (d.ToString().ToLowerInvariant(), d), (d.ToString()[..3].ToLowerInvariant(), d) })
        .ToDictionary(p => p.Item1, p => p.d);

    /// <summary>
    /// Overrides without an id named by what they say (who, when, in place of whom), so a document that leaves ids out
    /// gives the same ids every time it is read, and applying it again changes nothing.
    /// </summary>
    public ScheduleRequest WithStableOverrideIds() => Overrides is null ? this : this with
    {
        Overrides = [.. Overrides.Select(o => o is { Id: null }
            ? o with { Id = "o-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{o.User}|{o.Start:O}|{o.End:O}|{o.Replaces}")))[..12] }
            : o)],
    };

    public Schedule? ToSchedule(string? routeId, RequestErrors errors, ScheduleOverride[]? keptOverrides = null)
    {
        var id = Id ?? routeId;
        if (!Ids.IsValid(id)) errors.Add("id", $"is required: {Ids.Describe}");
        if (routeId is not null && Id is not null && Id != routeId) errors.Add("id", $"'{Id}' differs from the id in the path, '{routeId}'");
        if (Name is { Length: > 200 }) errors.Add("name", "is at most 200 characters");
        if (TimeZone is null) errors.Add("timeZone", "is required: an IANA time zone (for example Europe/Berlin); handoffs are at its local times");
        if (Layers is null || Layers.Length == 0 || Layers.Length > MaxLayers) errors.Add("layers", $"is required: 1 to {MaxLayers} layers, the last the highest");
        var layers = new List<ScheduleLayer>();
        for (var i = 0; i < (Layers?.Length ?? 0); i++)
        {
            var l = Layers![i];
            var at = $"layers[{i}]";
            if (l is null)
            {
                errors.Add(at, "must be an object with \"name\", \"users\", \"start\" and \"shift\"");
                continue;
            }
            if (l.Name is not null && !Ids.IsValid(l.Name)) errors.Add($"{at}.name", Ids.Describe);
            if (l.Users is null || l.Users.Length == 0 || l.Users.Length > MaxUsersPerLayer) errors.Add($"{at}.users", $"is required: 1 to {MaxUsersPerLayer} user ids, in turn order");
            for (var u = 0; u < (l.Users?.Length ?? 0); u++)
            {
                if (!Ids.IsValid(l.Users![u])) errors.Add($"{at}.users[{u}]", $"'{l.Users[u]}' is not a user id");
            }
            if (!DateTime.TryParseExact(l.Start, ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
            {
                errors.Add($"{at}.start", $"'{l.Start}' is not a local date and time like 2026-03-02T09:00 (the first handoff, in the schedule's time zone, without an offset)");
            }
            var shift = new ShiftLength(0, ShiftUnit.Days);
            if (l.Shift is null || ShiftPattern().Match(l.Shift) is not { Success: true } m)
            {
                errors.Add($"{at}.shift", $"'{l.Shift}' is not a shift length like 12h, 1d or 2w");
            }
            else
            {
                shift = new ShiftLength(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value switch { "h" => ShiftUnit.Hours, "d" => ShiftUnit.Days, _ => ShiftUnit.Weeks });
            }
            var restrictions = new List<Restriction>();
            for (var r = 0; r < (l.Restrictions?.Length ?? 0); r++)
            {
                var restriction = l.Restrictions![r];
                var rat = $"{at}.restrictions[{r}]";
                if (restriction is null)
                {
                    errors.Add(rat, "must be an object with \"days\", \"from\" and \"to\"");
                    continue;
                }
                var days = new List<DayOfWeek>();
                foreach (var day in restriction.Days ?? [])
                {
                    if (day is not null && DayNames.TryGetValue(day.ToLowerInvariant(), out var d)) days.Add(d);
                    else errors.Add($"{rat}.days", $"'{day}' is not a day (mon, tue, … or monday, tuesday, …)");
                }
                if (!TimeOnly.TryParseExact(restriction.From, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)) errors.Add($"{rat}.from", $"'{restriction.From}' is not a time like 09:00");
                if (!TimeOnly.TryParseExact(restriction.To, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var to)) errors.Add($"{rat}.to", $"'{restriction.To}' is not a time like 17:00");
                restrictions.Add(new Restriction([.. days.Distinct()], from, to));
            }
            layers.Add(new ScheduleLayer(l.Name ?? $"layer-{i + 1}", l.Users ?? [], start, shift, [.. restrictions]));
        }
        var overrides = new List<ScheduleOverride>();
        for (var i = 0; i < (Overrides?.Length ?? 0); i++)
        {
            if (Overrides![i] is not { } o) errors.Add($"overrides[{i}]", "must be an object with \"user\", \"start\" and \"end\"");
            else if (o.ToOverride($"overrides[{i}]", errors) is { } made) overrides.Add(made);
        }
        if (TimeZone is { Length: > 64 }) errors.Add("timeZone", "is at most 64 characters");
        // What makes a schedule right (its zone, shift lengths, windows, overlapping overrides) is checked where it is
        // stored, by the schedule's grain; this reads the shape.
        return errors.Any ? null : new Schedule(id!, Name ?? id!, TimeZone!, [.. layers], Overrides is null && keptOverrides is not null ? keptOverrides : [.. overrides], default);
    }
}

public sealed record RestrictionResponse(string[] Days, string From, string To);

public sealed record LayerResponse(string Name, string[] Users, string Start, string Shift, RestrictionResponse[] Restrictions);

public sealed record OverrideResponse(string Id, string User, DateTimeOffset Start, DateTimeOffset End, string? Replaces)
{
    public static OverrideResponse From(ScheduleOverride o) => new(o.Id, o.User, o.Start, o.End, o.Replaces);
}

public sealed record ScheduleResponse(string Id, string Name, string TimeZone, LayerResponse[] Layers, OverrideResponse[] Overrides, DateTimeOffset UpdatedAt)
{
    public static ScheduleResponse From(Schedule s) => new(s.Id, s.Name, s.TimeZone,
        [.. s.Layers.Select(l => new LayerResponse(l.Name, l.Users, l.Start.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture),
            $"{l.Shift.Count}{l.Shift.Unit switch { ShiftUnit.Hours => "h", ShiftUnit.Days => "d", _ => "w" }}",
            [.. l.Restrictions.Select(r => new RestrictionResponse([.. r.Days.Select(d => d.ToString()[..3].ToLowerInvariant())], r.From.ToString("HH:mm", CultureInfo.InvariantCulture), r.To.ToString("HH:mm", CultureInfo.InvariantCulture)))]))],
        [.. s.Overrides.OrderBy(o => o.Start).Select(OverrideResponse.From)], s.UpdatedAt);
}

public sealed record ShiftResponse(DateTimeOffset Start, DateTimeOffset End, string[] Users, string Source)
{
    public static ShiftResponse From(Shift s) => new(s.Start, s.End, s.Users, s.Source);
}

/// <summary>Who is on call at a moment: the people, where they come from, and since and until when the same people are.</summary>
public sealed record OnCallResponse(string Schedule, string Name, DateTimeOffset At, string[] Users, string Source, DateTimeOffset? Since, DateTimeOffset? Until, ShiftResponse? Next)
{
    public static OnCallResponse From(OnCallAnswer a) => new(a.Schedule, a.Name, a.At, a.Users, a.Source, a.Since, a.Until, a.Next is { } next ? ShiftResponse.From(next) : null);
}

public sealed record ShiftsResponse(string Schedule, string TimeZone, DateTimeOffset From, DateTimeOffset To, ShiftResponse[] Shifts);
