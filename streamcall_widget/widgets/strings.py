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
        "streamcall_no_call": "No call",
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
        "streamcall_hold": "Hold",
        "streamcall_resume": "Resume",
        "streamcall_on_hold": "On hold",
        "streamcall_not_on_hold": "Not on hold",
        "streamcall_you_hold": "On hold: you hear and send nothing until you resume",
        "streamcall_keypad": "Keypad",
        "streamcall_key": "Key %1$s",
        "streamcall_key_star": "star",
        "streamcall_key_pound": "pound",
        "streamcall_deaf": "Deafen",
        "streamcall_undeaf": "Undeafen",
        "streamcall_deafened": "You hear nothing of the call",
        "streamcall_chat": "Chat",
        "streamcall_chat_empty": "No messages yet",
        "streamcall_send": "Send",
        "streamcall_message_placeholder": "Write a message",
        "streamcall_controls": "Call controls",
        "streamcall_microphone_is_on": "Microphone on",
        "streamcall_microphone_is_off": "Microphone off",
        "streamcall_camera_is_on": "Camera on",
        "streamcall_camera_is_off": "Camera off",
        "streamcall_reason_declined": "%1$s declined",
        "streamcall_reason_you_declined": "You declined the call",
        "streamcall_reason_busy": "%1$s is busy",
        "streamcall_reason_you_busy": "You declined: busy",
        "streamcall_reason_offline": "%1$s is offline",
        "streamcall_reason_no_answer": "No answer",
        "streamcall_reason_missed": "Missed call from %1$s",
        "streamcall_reason_cancelled": "Call cancelled",
        "streamcall_reason_accepted_elsewhere": "Answered on another device",
        "streamcall_reason_accepted_by_other": "Answered by someone else",
        "streamcall_reason_ended": "Call ended",
        "streamcall_reason_disconnected": "%1$s lost the connection",
        "streamcall_reason_connection_lost": "Connection lost",
        "streamcall_reason_join_failed": "Could not join the call",
        "streamcall_reason_removed": "You were removed from the call",
        "streamcall_reason_replaced": "The call moved to another device",
        "streamcall_reason_logout": "Logged out",
        "streamcall_kernel_gone": "The kernel restarted; this call ended. Run the cell again.",
        "streamcall_kernel_gone_panel": "The kernel restarted. Run the cell again.",
        "streamcall_layout_grid": "Grid",
        "streamcall_layout_spotlight": "Spotlight",
        "streamcall_layout_dynamic": "Dynamic",
        "streamcall_layout_fullscreen": "Full screen",
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
        "streamcall_no_call": "Aucun appel",
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
        "streamcall_hold": "Mettre en attente",
        "streamcall_resume": "Reprendre",
        "streamcall_on_hold": "En attente",
        "streamcall_not_on_hold": "Pas en attente",
        "streamcall_you_hold": "En attente : vous n'entendez et n'envoyez rien jusqu'à la reprise",
        "streamcall_keypad": "Clavier",
        "streamcall_key": "Touche %1$s",
        "streamcall_key_star": "étoile",
        "streamcall_key_pound": "dièse",
        "streamcall_deaf": "Couper le son de l'appel",
        "streamcall_undeaf": "Rétablir le son de l'appel",
        "streamcall_deafened": "Vous n'entendez plus l'appel",
        "streamcall_chat": "Discussion",
        "streamcall_chat_empty": "Aucun message",
        "streamcall_send": "Envoyer",
        "streamcall_message_placeholder": "Écrire un message",
        "streamcall_controls": "Commandes de l'appel",
        "streamcall_microphone_is_on": "Micro activé",
        "streamcall_microphone_is_off": "Micro coupé",
        "streamcall_camera_is_on": "Caméra activée",
        "streamcall_camera_is_off": "Caméra coupée",
        "streamcall_reason_declined": "%1$s a refusé l'appel",
        "streamcall_reason_you_declined": "Vous avez refusé l'appel",
        "streamcall_reason_busy": "%1$s est occupé·e",
        "streamcall_reason_you_busy": "Refusé : occupé·e",
        "streamcall_reason_offline": "%1$s est hors ligne",
        "streamcall_reason_no_answer": "Pas de réponse",
        "streamcall_reason_missed": "Appel manqué de %1$s",
        "streamcall_reason_cancelled": "Appel annulé",
        "streamcall_reason_accepted_elsewhere": "Répondu sur un autre appareil",
        "streamcall_reason_accepted_by_other": "Quelqu'un d'autre a répondu",
        "streamcall_reason_ended": "Appel terminé",
        "streamcall_reason_disconnected": "%1$s a perdu la connexion",
        "streamcall_reason_connection_lost": "Connexion perdue",
        "streamcall_reason_join_failed": "Impossible de rejoindre l'appel",
        "streamcall_reason_removed": "Vous avez été retiré·e de l'appel",
        "streamcall_reason_replaced": "L'appel est passé sur un autre appareil",
        "streamcall_reason_logout": "Déconnecté",
        "streamcall_kernel_gone": (
            "Le noyau a redémarré ; cet appel est terminé. Exécutez à nouveau la cellule."
        ),
        "streamcall_kernel_gone_panel": "Le noyau a redémarré. Exécutez à nouveau la cellule.",
        "streamcall_layout_grid": "Grille",
        "streamcall_layout_spotlight": "Orateur",
        "streamcall_layout_dynamic": "Dynamique",
        "streamcall_layout_fullscreen": "Plein écran",
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
