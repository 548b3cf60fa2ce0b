<?php
// Version 2's entries: a message and when it was signed.
function sign(PDO $db, string $message): array {
    $at = gmdate('c');
    $db->prepare('INSERT INTO entries (message, signed_at) VALUES (?, ?)')->execute([$message, $at]);
    return ['id' => (int) $db->lastInsertId(), 'message' => $message, 'signed_at' => $at];
}

function read(PDO $db): array {
    return $db->query('SELECT id, message, signed_at FROM entries ORDER BY id')->fetchAll(PDO::FETCH_ASSOC);
}
