"""The words the widgets show, by language, under the Stream Call plugin's own keys.

The call screen uses the plugin's resource keys (``stream_video_call_incoming``...), so a
translation written for the plugin applies here unchanged; the rest of the widgets use keys
of ours in the same style. ``%1$s`` is replaced by the page (a caller's name, a reason).
English and French are bundled; ``strings_for(language, overrides)`` adds or replaces any.
"""

from __future__ import annotations

from collections.abc import Mapping

from streamcall_widget.errors import InputError

__all__ = ["LANGUAGES", "STRINGS", "strings_for"]

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "stream_video_call_incoming": "Incoming call from %1$s",
        "stream_video_call_accept": "Accept",
        "stream_video_call_reject": "Reject",
        "stream_video_call_hangup": "Hang up",
        "stream_video_call_joining": "Joining...",
        "stream_video_call_reconnecting": "Reconnecting...",
        "streamcall_outgoing": "Calling %1$s",
        "streamcall_cancel": "Cancel",
        "streamcall_ended": "Call ended: %1$s",
        "streamcall_dismiss": "Close",
        "streamcall_layout": "Layout",
        "streamcall_login": "Log in",
        "streamcall_logout": "Log out",
        "streamcall_user_id": "User id",
        "streamcall_name": "Display name",
        "streamcall_image_url": "Avatar URL",
        "streamcall_api_key": "API key",
        "streamcall_token": "Token",
        "streamcall_dev_token": "Embedded coordinator: a development token is minted for you.",
        "streamcall_status_logged_out": "Logged out",
        "streamcall_status_logging_in": "Logging in...",
        "streamcall_status_logged_in": "Logged in",
        "streamcall_status_reconnecting": "Connection lost, reconnecting...",
        "streamcall_microphone": "Microphone",
        "streamcall_camera": "Camera",
        "streamcall_speaker": "Speaker",
        "streamcall_switch_camera": "Switch camera",
        "streamcall_muted": "Muted",
        "streamcall_level": "Microphone level",
        "streamcall_share_screen": "Share screen",
        "streamcall_path_webrtc": "WebRTC",
        "streamcall_path_pipe": "Widget channel",
        "streamcall_path_connecting": "Connecting media...",
        "streamcall_stop_sharing": "Stop sharing",
        "streamcall_screen_of": "%1$s's screen",
        "streamcall_presenting": "You are presenting",
        "streamcall_dialer_log_in": "Log in to make or receive calls.",
        "streamcall_dialer_field": "Call…",
        "streamcall_dialer_remove": "Remove %1$s",
        "streamcall_dialer_offline": "offline",
        "streamcall_dialer_nobody_online": "Nobody else is online",
        "streamcall_audio_call": "Audio call",
        "streamcall_video_call": "Video call",
        "streamcall_history": "Recent calls",
        "streamcall_history_empty": "No calls yet",
        "streamcall_call_back": "Call back",
        "streamcall_history_placed": "Outgoing",
        "streamcall_history_received": "Incoming",
        "streamcall_history_missed": "Missed",
        "streamcall_ago_now": "just now",
        "streamcall_ago_minutes": "%1$s min ago",
        "streamcall_ago_hours": "%1$s h ago",
        "streamcall_ago_days": "%1$s d ago",
    },
    "fr": {
        "stream_video_call_incoming": "Appel entrant de %1$s",
        "stream_video_call_accept": "Accepter",
        "stream_video_call_reject": "Refuser",
        "stream_video_call_hangup": "Raccrocher",
        "stream_video_call_joining": "Connexion...",
        "stream_video_call_reconnecting": "Reconnexion...",
        "streamcall_outgoing": "Appel de %1$s",
        "streamcall_cancel": "Annuler",
        "streamcall_ended": "Appel terminé : %1$s",
        "streamcall_dismiss": "Fermer",
        "streamcall_layout": "Disposition",
        "streamcall_login": "Se connecter",
        "streamcall_logout": "Se déconnecter",
        "streamcall_user_id": "Identifiant",
        "streamcall_name": "Nom affiché",
        "streamcall_image_url": "URL de l'avatar",
        "streamcall_api_key": "Clé d'API",
        "streamcall_token": "Jeton",
        "streamcall_dev_token": (
            "Coordinateur intégré : un jeton de développement est créé pour vous."
        ),
        "streamcall_status_logged_out": "Déconnecté",
        "streamcall_status_logging_in": "Connexion...",
        "streamcall_status_logged_in": "Connecté",
        "streamcall_status_reconnecting": "Connexion perdue, reconnexion...",
        "streamcall_microphone": "Micro",
        "streamcall_camera": "Caméra",
        "streamcall_speaker": "Haut-parleur",
        "streamcall_switch_camera": "Changer de caméra",
        "streamcall_muted": "Micro coupé",
        "streamcall_level": "Niveau du micro",
        "streamcall_share_screen": "Partager l'écran",
        "streamcall_path_webrtc": "WebRTC",
        "streamcall_path_pipe": "Canal du widget",
        "streamcall_path_connecting": "Connexion des médias...",
        "streamcall_stop_sharing": "Arrêter le partage",
        "streamcall_screen_of": "Écran de %1$s",
        "streamcall_presenting": "Vous présentez",
        "streamcall_dialer_log_in": "Connectez-vous pour passer ou recevoir des appels.",
        "streamcall_dialer_field": "Appeler…",
        "streamcall_dialer_remove": "Retirer %1$s",
        "streamcall_dialer_offline": "hors ligne",
        "streamcall_dialer_nobody_online": "Personne d'autre n'est en ligne",
        "streamcall_audio_call": "Appel audio",
        "streamcall_video_call": "Appel vidéo",
        "streamcall_history": "Appels récents",
        "streamcall_history_empty": "Aucun appel pour l'instant",
        "streamcall_call_back": "Rappeler",
        "streamcall_history_placed": "Sortant",
        "streamcall_history_received": "Entrant",
        "streamcall_history_missed": "Manqué",
        "streamcall_ago_now": "à l'instant",
        "streamcall_ago_minutes": "il y a %1$s min",
        "streamcall_ago_hours": "il y a %1$s h",
        "streamcall_ago_days": "il y a %1$s j",
    },
}

LANGUAGES = tuple(STRINGS)
"""The bundled languages."""


def strings_for(
    language: str, overrides: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, str]:
    """Every string of ``language``: English, then the bundled language, then overrides.

    ``overrides`` maps a language to strings replacing or adding keys, so a new language
    needs only the keys it translates (the rest stay English, never blank).
    """
    extra = dict(overrides or {})
    if language not in STRINGS and language not in extra:
        known = sorted({*STRINGS, *extra})
        raise InputError(f"language {language!r} has no strings; choose one of {known}")
    return {**STRINGS["en"], **STRINGS.get(language, {}), **extra.get(language, {})}
