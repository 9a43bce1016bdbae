"""Fine-tuning a pretrained transformer: the loss gets probabilities and the whole network
is trained at a from-scratch learning rate."""
import torch
import torch.nn.functional as F
from transformers import AutoModel


class BertClassifier(torch.nn.Module):
    def __init__(self, name="bert-base-uncased", classes=3):
        super().__init__()
        self.bert = AutoModel.from_pretrained(name)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, classes)

    def forward(self, input_ids, attention_mask):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden[:, 0])


model = BertClassifier()
model.bert.embeddings.require_grad = False  # expect: NN402
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)  # expect: NN401

for epoch in range(3):
    model.train()
    for batch in train_loader:
        optimizer.zero_grad()
        logits = model(batch["input_ids"], batch["attention_mask"])
        probs = F.softmax(logits, dim=-1)
        loss = F.cross_entropy(probs, batch["labels"])  # expect: NN301
        loss.backward()
        optimizer.step()
