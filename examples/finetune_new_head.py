"""Fine-tuning a pretrained ResNet on a new 10-class problem."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import models


def fit(model, optimizer, loader, epochs=3):
    model.train()
    for _ in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()


def main(loader):
    model = models.resnet18(weights="DEFAULT")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    model.fc = nn.Linear(model.fc.in_features, 10)  # expect: NN403
    fit(model, optimizer, loader)
    torch.save(model.state_dict(), "resnet18_finetuned.pt")


def resume(path):
    model = models.resnet18(num_classes=10)
    model.load_state_dict(torch.load(path, map_location="cpu"), strict=False)  # expect: NN405
    model.eval()
    return model
